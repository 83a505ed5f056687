// One line per event on stderr, in server.logFormat: "text",
// `time LEVEL process [component] message key=value ...`, values JSON-quoted
// only when they need it so lines stay greppable; or "json", one object a
// line: time, level, process, worker, component, msg, then the fields.

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = ORDER[(process.env.SWITCHYARD_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
let json = false;
/** "master", "worker"; '' in a CLI command. */
let processName = '';
let workerId: string | null = null;
/** What the text format writes before the component: "master ", "worker 2 ". */
let textPrefix = '';
/** What the JSON format writes after the level: `,"process":"worker","worker":"2"`. */
let jsonPrefix = '';

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}

export function setLogFormat(format: LogFormat): void {
  json = format === 'json';
}

/** Tags every line of this process: the master, or a worker and its id. */
export function setLogProcess(name: 'master' | 'worker', worker: string | null = null): void {
  processName = name;
  workerId = worker;
  textPrefix = `${name}${worker === null ? '' : ` ${worker}`} `;
  jsonPrefix = `,"process":${JSON.stringify(name)}${worker === null ? '' : `,"worker":${JSON.stringify(worker)}`}`;
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
    process.stderr.write(json ? jsonLine(level, component, msg, fields) : textLine(level, component, msg, fields));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

function textLine(level: Level, component: string, msg: string, fields: Record<string, unknown> | undefined): string {
  let line = `${new Date().toISOString()} ${level.toUpperCase()} ${textPrefix}[${component}] ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${textValue(v)}`;
  return line + '\n';
}

function textValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  const text = typeof value === 'string' ? value : jsonValue(value);
  return /^[\w.:/@\-+*,[\]]+$/.test(text) ? text : JSON.stringify(text);
}

/** A key this process's JSON lines already have: a field of the same name gets a leading underscore. */
function taken(key: string): boolean {
  switch (key) {
    case 'time':
    case 'level':
    case 'component':
    case 'msg':
      return true;
    case 'process':
      return processName !== '';
    case 'worker':
      return workerId !== null; // the master's lines name workers freely
    default:
      return false;
  }
}

function jsonLine(level: Level, component: string, msg: string, fields: Record<string, unknown> | undefined): string {
  let line = `{"time":"${new Date().toISOString()}","level":"${level}"${jsonPrefix},"component":${JSON.stringify(component)},"msg":${JSON.stringify(msg)}`;
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      line += `,${JSON.stringify(taken(k) ? `_${k}` : k)}:${v instanceof Error ? JSON.stringify(v.message) : jsonValue(v)}`;
    }
  }
  return line + '}\n';
}

/** Any value as JSON text: what JSON cannot say (a BigInt, a cycle, a function) as a string. */
function jsonValue(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text;
  } catch {
    // below
  }
  return JSON.stringify(String(value));
}
