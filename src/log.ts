// One line per event on stderr: `time level [component] message key=value ...`.
// Values are JSON-quoted only when they need it, so lines stay greppable.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = ORDER[(process.env.SWITCHYARD_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
let prefix = '';

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}

/** Tag every line of this process (e.g. "worker 2"). */
export function setLogPrefix(value: string): void {
  prefix = value;
}

function format(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text !== undefined && /^[\w.:/@\-+*,[\]]+$/.test(text) ? text : JSON.stringify(text);
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function logger(component: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} ${prefix ? prefix + ' ' : ''}[${component}] ${msg}`;
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${format(v)}`;
    process.stderr.write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
