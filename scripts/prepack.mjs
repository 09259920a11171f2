// Run by `npm pack` / `npm publish` in a package folder: puts the repository's one LICENSE
// file into the tarball (the repository keeps a single copy; see .gitignore).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
fs.copyFileSync(path.join(root, 'LICENSE'), path.join(process.cwd(), 'LICENSE'));
