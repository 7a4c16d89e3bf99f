#!/usr/bin/env node
// Facet's CLI. Runs the TypeScript sources directly with Node >= 22.18 type stripping.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`Facet needs Node 22.18 or newer (this is ${process.version}). Run it through npm (npx facet …), which uses the Node 22 pinned in package.json.\n`);
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
