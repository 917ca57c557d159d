// Test harness: a real ChitChat server process and a WebSocket-level proxy that can cut connections and drop frames.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { WebSocket, WebSocketServer } from 'ws';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const serverDll = process.env.CHITCHAT_SERVER_DLL || path.join(repo, 'samples/ChitChat.Web/bin/Debug/net10.0/ChitChat.Web.dll');

/** Rejects after `ms` with an error naming the phase, unless `promise` settles first. */
export function within(promise, phase, ms = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${phase}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the payload of the next `event` of `emitter` (a client or subscription) that matches. */
export function nextEvent(emitter, event, phase, match = () => true, ms = 30000) {
  let off;
  const p = new Promise((resolve) => { off = emitter.on(event, (payload) => { if (match(payload)) { off(); resolve(payload); } }); });
  return within(p, phase, ms).finally(() => off());
}

/** Starts `dotnet ChitChat.Web.dll` on 127.0.0.1 port 0 with an in-memory store; resolves when it listens. */
export async function startServer(env = {}) {
  if (!existsSync(serverDll)) throw new Error(`${serverDll} does not exist: run dotnet build samples/ChitChat.Web (or set CHITCHAT_SERVER_DLL)`);
  const child = spawn('dotnet', [serverDll], {
    cwd: path.dirname(serverDll),
    env: {
      ...process.env,
      ASPNETCORE_ENVIRONMENT: 'Development',
      ASPNETCORE_URLS: 'http://127.0.0.1:0',
      ChitChat__Store: 'InMemory',
      ChitChat__Transport: 'InProcess',
      ChitChat__PasswordHashIterations: '1000',
      ChitChat__Auth__RateLimit: '0',
      ChitChat__Auth__SigningKey: 'chitchat-typescript-sdk-tests-signing-key-0123456789',
      DOTNET_NOLOGO: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await within(new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      const m = /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => { output += c.toString(); });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${output}`)));
  }), 'the server to print "Now listening on"', 90000);
  child.stdout.resume();
  child.stderr.resume();
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      await within(exited, 'the server to exit', 30000).catch(() => process.kill(child.pid, 'SIGKILL'));
    },
  };
}

const RS = '\x1e';

/**
 * A proxy in front of the server: HTTP requests (negotiate, the API) are forwarded as they are, WebSockets frame by
 * frame (SignalR JSON records end with \x1e), so a test can cut every connection, refuse new ones and drop records.
 */
export async function startProxy(target) {
  const targetUrl = new URL(target);
  const pairs = new Set();
  const wss = new WebSocketServer({ noServer: true });
  const proxy = {
    url: '',
    refuse: false,
    /** Every invocation the clients sent: { target, arguments, invocationId }. */
    invocations: [],
    serverRules: [],
    /** Cuts every proxied WebSocket at once (abruptly). */
    cutAll() {
      for (const p of [...pairs]) {
        p.client.terminate();
        p.upstream.terminate();
      }
      pairs.clear();
    },
    /** Drops the next server→client record that matches; resolves with it. */
    dropServerRecord(match) {
      return new Promise((resolve) => proxy.serverRules.push({ match, resolve }));
    },
    /** Drops the completion (the ack) of the next client invocation of `method`; resolves with the invocation. */
    dropCompletionOf(method) {
      return new Promise((resolve) => {
        const pending = { method, resolve, ids: new Map() };
        proxy.ackRules.push(pending);
      });
    },
    ackRules: [],
    /** Sends a server→client record (e.g. an invocation the server cannot be made to send yet) on every proxied connection. */
    injectToClients(message) {
      let sent = 0;
      for (const p of pairs) {
        if (p.client.readyState === WebSocket.OPEN) {
          p.client.send(JSON.stringify(message) + RS);
          sent++;
        }
      }
      return sent;
    },
    async close() {
      proxy.cutAll();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections?.();
    },
  };

  const server = http.createServer((req, res) => {
    if (proxy.refuse) {
      req.socket.destroy();
      return;
    }
    const upstream = http.request({
      host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host },
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });

  server.on('upgrade', (req, socket, head) => {
    if (proxy.refuse) {
      socket.destroy();
      return;
    }
    const headers = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const upstream = new WebSocket(`ws://${targetUrl.host}${req.url}`, { headers });
    upstream.once('unexpected-response', (_, response) => {
      socket.end(`HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    upstream.once('error', () => socket.destroy());
    upstream.once('open', () => {
      wss.handleUpgrade(req, socket, head, (client) => {
        const pair = { client, upstream, acks: new Map() };
        pairs.add(pair);
        const end = () => {
          pairs.delete(pair);
          client.terminate();
          upstream.terminate();
        };
        client.on('close', end);
        upstream.on('close', end);
        client.on('error', end);
        upstream.on('error', end);
        client.on('message', (data, isBinary) => {
          const text = data.toString();
          for (const record of text.split(RS)) {
            if (!record) continue;
            try {
              const m = JSON.parse(record);
              if (m.type === 1 && m.target) {
                proxy.invocations.push({ target: m.target, arguments: m.arguments, invocationId: m.invocationId });
                const rule = proxy.ackRules.find((r) => r.method === m.target);
                if (rule && m.invocationId) {
                  proxy.ackRules.splice(proxy.ackRules.indexOf(rule), 1);
                  pair.acks.set(m.invocationId, { rule, invocation: m });
                }
              }
            } catch { /* not JSON (the handshake is JSON too) */ }
          }
          if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
        });
        upstream.on('message', (data, isBinary) => {
          const records = data.toString().split(RS).filter((r) => r.length > 0);
          const kept = [];
          for (const record of records) {
            let m = null;
            try { m = JSON.parse(record); } catch { m = null; }
            if (m && m.type === 3 && pair.acks.has(m.invocationId)) {
              const { rule, invocation } = pair.acks.get(m.invocationId);
              pair.acks.delete(m.invocationId);
              rule.resolve(invocation);
              continue;
            }
            const rule = m ? proxy.serverRules.find((r) => r.match(m)) : undefined;
            if (rule) {
              proxy.serverRules.splice(proxy.serverRules.indexOf(rule), 1);
              rule.resolve(m);
              continue;
            }
            kept.push(record + RS);
          }
          if (kept.length > 0 && client.readyState === WebSocket.OPEN) client.send(kept.join(''), { binary: isBinary });
        });
      });
    });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}
