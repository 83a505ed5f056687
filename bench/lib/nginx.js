// nginx configurations: the static backend (as the shared harness configures
// it: 1 worker, access log off, 13-byte `return 200`, 100M keep-alive
// requests; plus static 64 KiB / 1 MiB files) and the reference proxy
// (1 worker, keep-alive upstream, access log off, X-Forwarded-* like Hipache),
// with a TLS listener (same certificate as Switchyard, HTTP/2) when asked.

import { join } from 'node:path';

function common(work) {
  const tmp = join(work, 'nginx-tmp');
  return `  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;`;
}

function head(work, name, workers) {
  // `user` only matters (and is only allowed without a warning) when started as root.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `worker_processes ${workers};
daemon off;
master_process on;
${user}pid ${join(work, `${name}.pid`)};
error_log ${join(work, `${name}.err`)} warn;
events { worker_connections 8192; }
`;
}

export function backendConf(work, port) {
  const www = join(work, 'www');
  return `${head(work, 'nginx-backend', 1)}http {
${common(work)}
  sendfile on;
  server {
    listen 127.0.0.1:${port} default_server backlog=4096;
    location = /64k { default_type text/plain; alias ${www}/64k; }
    location = /1m { default_type text/plain; alias ${www}/1m; }
    location / { default_type text/plain; return 200 "hello world!\\n"; }
  }
}
`;
}

const PROXY_BLOCK = `      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      # stream large answers through memory buffers instead of temp files
      proxy_max_temp_file_size 0;`;

/**
 * The reference proxy. Host bench.local -> backend, ws.bench -> the WebSocket
 * echo backend; any other host gets 404, or (catchAll, for the many-hosts
 * scenario) goes to the backend too: nginx does no per-host lookup there.
 */
export function proxyConf(work, { port, backendPort, wsPort, workers, catchAll, tls }) {
  // TLS scenarios: the same servers also listen on tls.port (nginx 1.22: `listen ... ssl http2`).
  const tlsListen = (extra) => (tls ? `\n    listen 127.0.0.1:${tls.port} ssl http2${extra};` : '');
  return `${head(work, 'nginx-proxy', workers)}http {
${common(work)}${tls ? `
  ssl_certificate ${tls.cert};
  ssl_certificate_key ${tls.key};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets on;
  ssl_session_cache shared:bench:10m;` : ''}
  upstream be {
    server 127.0.0.1:${backendPort};
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} default_server backlog=4096;${tlsListen(' default_server backlog=4096')}
    ${catchAll ? `location / {\n${PROXY_BLOCK}\n    }` : 'return 404;'}
  }
  server {
    listen 127.0.0.1:${port};${tlsListen('')}
    server_name bench.local;
    location / {
${PROXY_BLOCK}
    }
  }
  server {
    listen 127.0.0.1:${port};
    server_name ws.bench;
    location / {
      proxy_pass http://127.0.0.1:${wsPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_read_timeout 300s;
    }
  }
}
`;
}
