/**
 * Runs the CLI's `main` once in this process (started by a test with tsx) on the arguments given,
 * and prints one JSON line: the exit code, what the CLI wrote, how long `main` took, and this
 * process's peak memory (`maxRSS`, KiB) before and after. The modules are loaded before the clock
 * and the first reading start, so the numbers are the command's own work.
 */
import { performance } from 'node:perf_hooks';
import { main } from '../../cli/cli.js';

const stdout = { text: '', write: (text: string) => (stdout.text += text) };
const stderr = { text: '', write: (text: string) => (stderr.text += text) };
const maxRssKiBBefore = process.resourceUsage().maxRSS;
const start = performance.now();
const code = await main(process.argv.slice(2), { stdout, stderr });
const ms = performance.now() - start;
const maxRssKiB = process.resourceUsage().maxRSS;
process.stdout.write(
  `${JSON.stringify({ code, stdout: stdout.text, stderr: stderr.text, ms, maxRssKiBBefore, maxRssKiB })}\n`,
);
