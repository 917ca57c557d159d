// docs/clients.md's TypeScript example, exactly as written: extracted, type-checked with the SDK's strict settings
// (importing the package by its name, as users do), then run against a real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startServer, within } from './harness.mjs';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docs = path.resolve(packageDir, '../../docs/clients.md');
// Inside the package folder, so that `import ... from '@chitchat/client'` resolves to this package (self-reference).
const workDir = path.join(packageDir, '.docs-example');
let server;

before(async () => { server = await startServer(); });
after(async () => {
  await server?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

function typeScriptExample() {
  const text = readFileSync(docs, 'utf8');
  const section = text.slice(text.indexOf('\n## TypeScript'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'docs/clients.md has no ```ts block under "## TypeScript"');
  return match[1];
}

test('the TypeScript example of docs/clients.md compiles under strict settings and chats with a real server', async () => {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const source = path.join(workDir, 'example.ts');
  writeFileSync(source, typeScriptExample());

  const program = ts.createProgram([source], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    types: ['node'],
    skipLibCheck: true,
    rootDir: workDir,
    outDir: workDir,
  });
  const emitted = program.emit();
  const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, [], 'the example does not compile');

  const userName = `doc${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const { stdout } = await within(new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(workDir, 'example.js')], { env: { ...process.env, CHITCHAT_URL: server.url, CHITCHAT_USER: userName } },
      (error, out, err) => (error ? reject(new Error(`the example failed: ${error.message}\n${out}\n${err}`)) : resolve({ stdout: out })));
  }), 'the example program to finish');

  assert.match(stdout, new RegExp(`#\\d+ ${userName}: hello from ${userName}`));
  assert.match(stdout, /refused: room_not_found/);
});
