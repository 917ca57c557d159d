// Compares the committed copy of the browser bundle in the web sample with the fresh build output.
//   node scripts/check-bundle.mjs          fails (exit 1) when they differ
//   node scripts/check-bundle.mjs --write  copies the build output over the committed copy
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'dist/browser/chitchat-client.js');
const committed = path.resolve(root, '../../samples/ChitChat.Web/wwwroot/lib/chitchat-client/chitchat-client.js');
const rel = path.relative(path.resolve(root, '../..'), committed);

const fresh = await readFile(built).catch(() => null);
if (!fresh) {
  console.error('dist/browser/chitchat-client.js is missing: run npm run build in clients/typescript first.');
  process.exit(1);
}
if (process.argv.includes('--write')) {
  await mkdir(path.dirname(committed), { recursive: true });
  await writeFile(committed, fresh);
  console.log(`copied to ${rel}`);
  process.exit(0);
}
const current = await readFile(committed).catch(() => null);
if (!current || !current.equals(fresh)) {
  console.error(`${rel} is ${current ? 'stale (it differs from the fresh build)' : 'missing'}: run npm run build in clients/typescript and commit the bundle (npm run copy-bundle copies it).`);
  process.exit(1);
}
console.log(`${rel} is up to date.`);
