// `npm run bench -- <name> [--json] [flags]`: a small registry of benchmarks, each a module exporting
// run(json, args) (args: the command line without the name; a returned number is the exit code).
// Human tables go to stdout, progress to stderr; --json prints one JSON object per line.
// An unknown or missing name lists the benchmarks and exits 2.

type BenchModule = { run(json: boolean, args: readonly string[]): Promise<void | number> };

const BENCHES: Record<string, () => Promise<BenchModule>> = {
  kernels: () => import('./kernels.js'),
  model: () => import('./model.js'),
  generate: () => import('./generate.js'),
  'preview-stall': () => import('./preview-stall.js'),
  serve: () => import('./serve.js'),
  'tokenizers-text': () => import('./tokenizers-text.js'),
  tokenizers: () => import('./tokenizers.js'),
  train: () => import('./train.js'),
};

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const name = argv.find((a) => !a.startsWith('--'));
  const load = name !== undefined ? BENCHES[name] : undefined;
  if (load === undefined) {
    process.stderr.write(`${name === undefined ? 'no benchmark given' : `unknown benchmark '${name}'`}; available: ${Object.keys(BENCHES).join(', ')}\n`);
    process.stderr.write('usage: npm run bench -- <name> [--json]\n');
    return 2;
  }
  const code = await (await load()).run(json, argv.filter((_, i) => i !== argv.indexOf(name!)));
  return typeof code === 'number' ? code : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
