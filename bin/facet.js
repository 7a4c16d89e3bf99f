#!/usr/bin/env node
// Facet's CLI. Runs the TypeScript sources directly with Node >= 22.18 type stripping.
// Reached as node_modules/.bin/facet through the `facet-cli` workspace (bin/package.json), so that
// `npx facet` runs this checkout in place; see docs/ARCHITECTURE.md, "How `npx facet` finds the CLI".
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`Error [NODE_VERSION]: Facet needs Node 22.18 or newer (this is ${process.version}). Run it through npm (npx facet …), which uses the Node 22 pinned in package.json.\n`);
  process.exit(1);
}
// Anything that escapes main() (a source file that fails to load, an error thrown outside a
// command) still ends as one line and a non-zero exit, not a stack trace.
const fail = (error) => {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`Error [INTERNAL]: Facet hit a bug: ${message}${process.env.FACET_DEBUG ? `\n${error?.stack ?? ''}` : ' (run again with FACET_DEBUG=1 for the stack trace, and report it)'}\n`);
  process.exit(70);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
try {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  fail(error);
}
