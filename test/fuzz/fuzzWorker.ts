/**
 * The fuzz test's worker, run as its own process so that a native abort or segfault shows as an
 * exit by signal instead of killing the test runner:
 *
 *   node test/fuzz/fuzzWorker.ts gguf   <dir> <seed> <cases>   fuzzed GGUF headers and vocabularies through Facet's reader and checks
 *   node test/fuzz/fuzzWorker.ts native <dir>                  the accepted ones loaded by real llama.cpp (ProbeModel)
 *   node test/fuzz/fuzzWorker.ts lines  <dir> <seed> <cases>   fuzzed JSONL and CSV lines through the reader, the normaliser and the import job
 *
 * Each mode prints one JSON line: { cases, outcomes: {code: count}, uncoded: [...] }. Before a
 * native load it writes the file's path to <dir>/native-current, so a crash names its input.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import { SeededRandom } from '../../src/core/forge/SeededRandom.ts';
import { readGgufHeader } from '../../src/core/gguf/GgufReader.ts';
import { gguf, type GgufValue } from '../../src/core/gguf/GgufValue.ts';
import { writeGguf, type GgufTensorSpec } from '../../src/core/gguf/GgufWriter.ts';
import { validateModelGguf } from '../../src/core/gguf/validateModelGguf.ts';
import { llamaArchitectures } from '../../src/core/gguf/llamaArchitectures.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { detectFormat, normalizeRecord, RecordError } from '../../src/core/datasets/normalizeRecord.ts';
import { readRecords, type FileLayout } from '../../src/core/datasets/readRecords.ts';
import { FacetError } from '../../src/shared/FacetError.ts';

interface Report {
  cases: number;
  outcomes: Record<string, number>;
  uncoded: { input: string; error: string }[];
  extra?: Record<string, unknown>;
}

const report: Report = { cases: 0, outcomes: {}, uncoded: [] };

function classify(input: string, error: unknown): void {
  if (error instanceof FacetError) {
    report.outcomes[error.code] = (report.outcomes[error.code] ?? 0) + 1;
    return;
  }
  if (report.uncoded.length < 20) report.uncoded.push({ input, error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error) });
  report.outcomes['(uncoded)'] = (report.outcomes['(uncoded)'] ?? 0) + 1;
}

function ok(label = 'ok'): void {
  report.outcomes[label] = (report.outcomes[label] ?? 0) + 1;
}

// ---------------------------------------------------------------- GGUF

const nEmbd = 16;
const nFf = 32;

/** GPT-2's byte-to-character map of byte-level BPE vocabularies. */
function byteLevelCharacters(): string[] {
  const printable: number[] = [];
  for (let c = 0x21; c <= 0x7e; c++) printable.push(c);
  for (let c = 0xa1; c <= 0xac; c++) printable.push(c);
  for (let c = 0xae; c <= 0xff; c++) printable.push(c);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return map;
}

/**
 * A tiny llama model with a SentencePiece vocabulary (specials, 256 byte tokens, some pieces) or,
 * with `bpe`, a byte-level BPE one (256 byte characters, merges, specials).
 */
function baseModel(random: SeededRandom, bpe = false): { metadata: Map<string, GgufValue>; tensors: GgufTensorSpec[] } {
  const tokens: string[] = [];
  const types: number[] = [];
  if (bpe) {
    for (const char of byteLevelCharacters()) {
      tokens.push(char);
      types.push(1);
    }
    for (const word of ['Ġt', 'he', 'Ġthe', 'Ġa', 'in', 'Ġw', 'or', 'ld']) {
      tokens.push(word);
      types.push(1);
    }
    for (const special of ['<|begin_of_text|>', '<|end_of_text|>']) {
      tokens.push(special);
      types.push(3);
    }
  } else {
    tokens.push('<unk>', '<s>', '</s>');
    types.push(2, 3, 3);
    for (let b = 0; b < 256; b++) {
      tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      types.push(6);
    }
    for (const word of ['▁the', '▁a', '▁hello', '▁world', 'ing', '▁is', '▁of', '▁to', 'ed', '▁and', '▁in', 'er']) {
      tokens.push(word);
      types.push(1);
    }
  }
  const nVocab = tokens.length;
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str('fuzz base')],
    ['llama.context_length', gguf.u32(64)],
    ['llama.embedding_length', gguf.u32(nEmbd)],
    ['llama.block_count', gguf.u32(1)],
    ['llama.feed_forward_length', gguf.u32(nFf)],
    ['llama.attention.head_count', gguf.u32(2)],
    ['llama.attention.head_count_kv', gguf.u32(1)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(1e-5)],
    ['llama.rope.freq_base', gguf.f32(10000)],
    ['tokenizer.ggml.model', gguf.str(bpe ? 'gpt2' : 'llama')],
    ...(bpe ? ([['tokenizer.ggml.pre', gguf.str('default')]] as const) : []),
    ['tokenizer.ggml.tokens', { type: 'array', elementType: 'string', value: tokens }],
    ...(bpe
      ? ([['tokenizer.ggml.merges', { type: 'array', elementType: 'string', value: ['Ġ t', 'h e', 'Ġt he', 'Ġ a', 'i n', 'Ġ w', 'o r', 'l d'] }]] as const)
      : ([['tokenizer.ggml.scores', { type: 'array', elementType: 'float32', value: tokens.map((_, i) => -i) }]] as const)),
    ['tokenizer.ggml.token_type', { type: 'array', elementType: 'int32', value: types }],
    ['tokenizer.ggml.bos_token_id', gguf.u32(bpe ? nVocab - 2 : 1)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(bpe ? nVocab - 1 : 2)],
    ...(bpe ? [] : ([['tokenizer.ggml.unknown_token_id', gguf.u32(0)]] as const)),
  ]);
  const headDim = nEmbd / 2;
  const tensor = (name: string, dims: number[]): GgufTensorSpec => ({ name, dims, type: 'F32', data: random.normalArray(dims.reduce((a, b) => a * b, 1), 0.1) });
  const tensors = [
    tensor('token_embd.weight', [nEmbd, nVocab]),
    tensor('output_norm.weight', [nEmbd]),
    tensor('blk.0.attn_norm.weight', [nEmbd]),
    tensor('blk.0.attn_q.weight', [nEmbd, nEmbd]),
    tensor('blk.0.attn_k.weight', [nEmbd, headDim]),
    tensor('blk.0.attn_v.weight', [nEmbd, headDim]),
    tensor('blk.0.attn_output.weight', [nEmbd, nEmbd]),
    tensor('blk.0.ffn_norm.weight', [nEmbd]),
    tensor('blk.0.ffn_gate.weight', [nEmbd, nFf]),
    tensor('blk.0.ffn_up.weight', [nEmbd, nFf]),
    tensor('blk.0.ffn_down.weight', [nFf, nEmbd]),
  ];
  return { metadata, tensors };
}

const hparamKeys = [
  'llama.context_length', 'llama.embedding_length', 'llama.block_count', 'llama.feed_forward_length', 'llama.attention.head_count',
  'llama.attention.head_count_kv', 'llama.attention.key_length', 'llama.attention.value_length', 'llama.rope.dimension_count',
  'llama.expert_count', 'llama.expert_used_count', 'llama.expert_group_count', 'llama.expert_group_used_count', 'llama.nextn_predict_layers',
  'llama.rope.scaling.type', 'llama.attention.layer_norm_rms_epsilon', 'llama.rope.freq_base', 'llama.vocab_size',
  'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id', 'tokenizer.ggml.padding_token_id',
  'tokenizer.ggml.add_bos_token', 'tokenizer.ggml.model', 'tokenizer.ggml.pre', 'general.alignment', 'tokenizer.chat_template',
];

function randomValue(random: SeededRandom, key: string): GgufValue {
  const pick = <T>(items: readonly T[]): T => items[random.nextUint32() % items.length]!;
  const numbers = [0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 32, 63, 64, 255, 256, 511, 512, 513, 1024, 65535, 65536, 1_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  switch (random.nextUint32() % 9) {
    case 0: return gguf.u32(pick(numbers));
    case 1: return gguf.i32(pick([-1, -2, -(2 ** 31), 0, 1, 2, 16]));
    case 2: return gguf.u64(BigInt(pick(numbers)) * BigInt(pick([1, 1, 4096, 2 ** 20])));
    case 3: return gguf.f32(pick([0, -1, 0.5, 1e-30, 1e30, Number.NaN, Infinity]));
    case 4: return gguf.str(pick(['', 'llama', 'gpt2', 'none', 'no_vocab', 'yarn', 'spiral', 'bert', 'rwkv', 'x'.repeat(300)]));
    case 5: return gguf.bool(random.nextFloat() < 0.5);
    case 6: return { type: 'array', elementType: 'uint32', value: Array.from({ length: pick([0, 1, 2, 3, 600]) }, () => pick(numbers)) };
    case 7: return { type: 'array', elementType: 'string', value: Array.from({ length: pick([0, 1, 2]) }, () => pick(['a', '', 'b'])) };
    default: return key.includes('token_id') ? gguf.u32(pick([0, 1, 2, 270, 271, 10_000])) : gguf.u32(pick([1, 2, 4, 8, 16, 32]));
  }
}

function mutateMetadata(random: SeededRandom, metadata: Map<string, GgufValue>): string {
  const pick = <T>(items: readonly T[]): T => items[random.nextUint32() % items.length]!;
  const edits: string[] = [];
  const count = 1 + (random.nextUint32() % 3);
  for (let e = 0; e < count; e++) {
    const roll = random.nextFloat();
    if (roll < 0.5) {
      const key = pick(hparamKeys);
      const value = randomValue(random, key);
      metadata.set(key, value);
      edits.push(`${key}=${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 80)}`);
    } else if (roll < 0.6) {
      const key = pick([...metadata.keys()]);
      metadata.delete(key);
      edits.push(`-${key}`);
    } else if (roll < 0.72) {
      const tokens = [...(metadata.get('tokenizer.ggml.tokens')?.value as string[] | undefined ?? [])];
      if (tokens.length < 2) continue;
      const a = random.nextUint32() % tokens.length;
      const b = random.nextUint32() % tokens.length;
      const kind = random.nextUint32() % 4;
      if (kind === 0) tokens[a] = tokens[b]!;
      else if (kind === 1) tokens[a] = '';
      else if (kind === 2) tokens[a] = `[EMPTY_${b}]`;
      else tokens.length = 1 + (random.nextUint32() % tokens.length);
      metadata.set('tokenizer.ggml.tokens', { type: 'array', elementType: 'string', value: tokens });
      edits.push(`tokens#${kind}(${a},${b})`);
    } else if (roll < 0.8) {
      const key = pick(['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']);
      const value = metadata.get(key);
      if (value?.type === 'array') {
        const values = [...(value.value as number[])];
        values.length = random.nextUint32() % (values.length + 1);
        if (random.nextFloat() < 0.5) values.forEach((_, i) => (values[i] = random.nextUint32() % 9));
        metadata.set(key, { type: 'array', elementType: value.elementType, value: values } as GgufValue);
        edits.push(`${key}[${values.length}]`);
      }
    } else if (roll < 0.9) {
      const architectures = [...llamaArchitectures];
      const arch = random.nextFloat() < 0.8 ? pick(architectures) : `arch${random.nextUint32() % 100}`;
      // carry the hyperparameters over so the new architecture gets past its own key names
      for (const [key, value] of [...metadata]) if (key.startsWith('llama.')) metadata.set(`${arch}.${key.slice(6)}`, value);
      metadata.set('general.architecture', gguf.str(arch));
      edits.push(`arch=${arch}`);
    } else {
      const key = pick(hparamKeys);
      metadata.set(key, { type: 'array', elementType: 'int32', value: [pick([-5, 0, 1, 2]), pick([0, 1, 2, 600])] });
      edits.push(`${key}=array`);
    }
  }
  return edits.join(' ');
}

async function fuzzGguf(dir: string, seed: number, cases: number): Promise<void> {
  const random = new SeededRandom(seed);
  const bases = await Promise.all([false, true].map(async (bpe) => {
    const model = baseModel(random, bpe);
    const path = join(dir, bpe ? 'base-bpe.gguf' : 'base.gguf');
    await writeGguf(path, model);
    const header = await readGgufHeader(path);
    validateModelGguf(header); // the base models themselves must pass
    return { model, bytes: (await import('node:fs')).readFileSync(path), header };
  }));
  const acceptedDir = join(dir, 'accepted');
  mkdirSync(acceptedDir, { recursive: true });
  let accepted = 0;
  const keepAccepted = Number(process.env.FACET_FUZZ_NATIVE ?? 150);
  const casePath = join(dir, 'case.gguf');
  for (let i = 0; i < cases; i++) {
    report.cases++;
    const { model: base, bytes: baseBytes, header } = bases[i % 2]!;
    let description: string;
    if (random.nextFloat() < 0.55) {
      const metadata = new Map(base.metadata);
      description = `${i % 2 === 1 ? "bpe" : "spm"} metadata: ${mutateMetadata(random, metadata)}`;
      try {
        await writeGguf(casePath, { metadata, tensors: base.tensors });
      } catch (error) {
        // the harness's writer cannot encode some mutants (a bad or 2 GiB general.alignment):
        // those are not inputs Facet reads, so they are counted apart
        ok(`writer refused (${error instanceof FacetError ? error.code : (error as Error).name})`);
        continue;
      }
    } else {
      const bytes = Buffer.from(baseBytes);
      const kind = random.nextUint32() % 4;
      const at = random.nextUint32() % header.dataOffset;
      if (kind === 0) {
        for (let f = 0; f < 1 + (random.nextUint32() % 8); f++) bytes[random.nextUint32() % header.dataOffset] = random.nextUint32() & 0xff;
        description = `bytes: flips near ${at}`;
        await writeFile(casePath, bytes);
      } else if (kind === 1) {
        description = `bytes: truncated at ${at}`;
        await writeFile(casePath, bytes.subarray(0, at));
      } else if (kind === 2) {
        bytes.writeBigUInt64LE(BigInt.asUintN(64, BigInt(random.nextUint32()) * BigInt(random.nextUint32() % 2 === 0 ? 1 : 2 ** 32)), Math.min(at, header.dataOffset - 8));
        description = `bytes: u64 at ${at}`;
        await writeFile(casePath, bytes);
      } else {
        bytes.writeUInt32LE(random.nextUint32() % 5, 4);
        description = `bytes: version ${bytes.readUInt32LE(4)}`;
        await writeFile(casePath, bytes);
      }
    }
    try {
      validateModelGguf(await readGgufHeader(casePath));
      ok('accepted');
      if (accepted < keepAccepted) (await import('node:fs')).copyFileSync(casePath, join(acceptedDir, `${String(i).padStart(6, '0')}.gguf`));
      accepted++;
      writeFileSync(join(acceptedDir, 'descriptions.txt'), `${i}: ${description}\n`, { flag: 'a' });
    } catch (error) {
      classify(`case ${i} (${description})`, error);
    }
  }
  report.extra = { accepted };
}

async function fuzzNative(dir: string): Promise<void> {
  const acceptedDir = join(dir, 'accepted');
  const files = readdirSync(acceptedDir).filter((name) => name.endsWith('.gguf')).sort();
  for (const name of files) {
    const path = join(acceptedDir, name);
    writeFileSync(join(dir, 'native-current'), path);
    report.cases++;
    try {
      const model = await ProbeModel.load(path, { gpu: false });
      try {
        const context = await model.createContext({ contextSize: 32, threads: 1, sequences: 1 });
        const tokens = model.prepare('hello world', { template: false }).tokens;
        await context.capture([tokens], { layers: [0] });
        context.dispose();
        ok('loaded and captured');
      } finally {
        model.dispose();
      }
    } catch (error) {
      classify(path, error);
    }
  }
  writeFileSync(join(dir, 'native-current'), '');
}

// ---------------------------------------------------------------- JSONL and CSV lines

const baseRecords: unknown[] = [
  { instruction: 'Say hi', input: '', output: 'hi' },
  { messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hey' }] },
  { conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] },
  { text: 'plain text' },
  { chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: c' },
  { question: 'Choose (A) or (B)', answer_matching_behavior: '(A)', answer_not_matching_behavior: '(B)' },
];

function junkValue(random: SeededRandom, depth = 0): unknown {
  const roll = random.nextUint32() % 12;
  if (roll === 0) return null;
  if (roll === 1) return random.nextFloat() * 1e308 * (random.nextFloat() < 0.5 ? -1 : 1);
  if (roll === 2) return random.nextFloat() < 0.5;
  if (roll === 3) return 'x'.repeat(random.nextUint32() % 5000);
  if (roll === 4 && depth < 4) return [junkValue(random, depth + 1), junkValue(random, depth + 1)];
  if (roll === 5 && depth < 4) return { role: junkValue(random, depth + 1), content: junkValue(random, depth + 1), __proto__: { polluted: true } };
  if (roll === 6) return '\u0000\ud800\uffff\u202e';
  if (roll === 7) return [];
  if (roll === 8) return {};
  if (roll === 9) return 12345678901234567890;
  return 'ok';
}

function fuzzLine(random: SeededRandom): Buffer {
  const record = structuredClone(baseRecords[random.nextUint32() % baseRecords.length]) as Record<string, unknown>;
  const keys = Object.keys(record);
  const roll = random.nextFloat();
  if (roll < 0.35) {
    record[keys[random.nextUint32() % keys.length]!] = junkValue(random);
  } else if (roll < 0.45) {
    const depth = 1 + (random.nextUint32() % 600);
    return Buffer.from(`{"text":"deep","meta":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  } else if (roll < 0.55) {
    delete record[keys[random.nextUint32() % keys.length]!];
  }
  let line = Buffer.from(JSON.stringify(record));
  const damage = random.nextFloat();
  if (damage < 0.15) line = line.subarray(0, random.nextUint32() % (line.length + 1));
  else if (damage < 0.3) {
    line = Buffer.from(line);
    for (let f = 0; f < 1 + (random.nextUint32() % 4); f++) line[random.nextUint32() % line.length] = random.nextUint32() & 0xff;
  } else if (damage < 0.35) line = Buffer.concat([line, Buffer.from([0xc3, 0x28, 0xff, 0xfe])]);
  // a stray byte 0x0a would split the case in two lines: keep one case per line
  return Buffer.from(line.map((byte) => (byte === 0x0a ? 0x20 : byte)));
}

function fuzzCsvRow(random: SeededRandom): string {
  const pieces = ['a', '"', '""', ',', '\r', ' ', 'ünï', '\u0000', '"quoted, with comma"', 'x'.repeat(random.nextUint32() % 300), '\ufeff'];
  let row = '';
  for (let i = 0; i < 1 + (random.nextUint32() % 8); i++) row += pieces[random.nextUint32() % pieces.length];
  return row.replaceAll('\n', ' ');
}

async function fuzzLines(dir: string, seed: number, cases: number): Promise<void> {
  const random = new SeededRandom(seed);
  const engine = new FacetEngine({ home: join(dir, 'home'), shell: 'cli', resumeInterrupted: false });
  const perFile = 500;
  let imports = 0;
  try {
    for (let file = 0; report.cases < cases; file++) {
      const csv = file % 3 === 2;
      const path = join(dir, `lines-${file}.${csv ? 'csv' : 'jsonl'}`);
      const lines: Buffer[] = csv ? [Buffer.from('text,label')] : [];
      for (let i = 0; i < perFile; i++) lines.push(csv ? Buffer.from(fuzzCsvRow(random)) : fuzzLine(random));
      writeFileSync(path, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
      report.cases += perFile;
      const layout: FileLayout = csv ? 'csv' : 'jsonl';
      // every record through the reader and the normaliser
      try {
        for await (const record of readRecords(path, layout)) {
          if (record.error !== undefined) {
            ok(record.code ?? 'record refused');
            continue;
          }
          try {
            const format = detectFormat(record.value);
            if (format === undefined) {
              ok('format unknown');
              continue;
            }
            normalizeRecord(record.value, format);
            ok('normalised');
          } catch (error) {
            if (error instanceof RecordError) ok('record invalid');
            else classify(`${path}:${record.line}`, error);
          }
        }
      } catch (error) {
        classify(path, error); // a whole-file error must be coded too
      }
      // and the whole file through the import job (all or nothing, and with --skip-invalid)
      for (const skipInvalid of [false, true]) {
        imports++;
        try {
          const job = await engine.call('datasets.import', { path, name: `f${file}-${skipInvalid}`, skipInvalid, format: csv ? 'csv' : 'auto' });
          const final = await engine.jobs.wait(job.id);
          if (final.state === 'failed') {
            if (final.error?.code === 'INTERNAL') classify(`${path} import`, new Error(final.error.message));
            else ok(`import ${final.error?.code ?? 'failed'}`);
          } else ok(`import ${final.state}`);
        } catch (error) {
          classify(`${path} import`, error);
        }
      }
    }
    const leftovers = engine.store.db.prepare(`SELECT count(*) AS n FROM datasets WHERE state = 'importing'`).get() as { n: number };
    report.extra = { imports, importingLeft: leftovers.n };
  } finally {
    await engine.close();
  }
}

const [mode, dir, seedText, casesText] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: fuzzWorker.ts gguf|native|lines <dir> [seed] [cases]');
mkdirSync(dir, { recursive: true });
if (mode === 'gguf') await fuzzGguf(dir, Number(seedText), Number(casesText));
else if (mode === 'native') await fuzzNative(dir);
else if (mode === 'lines') await fuzzLines(dir, Number(seedText), Number(casesText));
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(report)}\n`);
