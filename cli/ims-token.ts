#!/usr/bin/env node
/**
 * The `ims-token` command (the package's `bin`; `npm run token --` in this repository). No
 * "am I the main module" guard: through npm's `.bin` symlink `process.argv[1]` is the link, so a
 * guard would make the command silently do nothing.
 */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
