// SHIM's runner for jscpd's clone detector (@jscpd/core with @jscpd/tokenizer).
//
// Reads one JSON object on stdin: {"minLines", "minTokens", "mode", "files": [{"id", "text"}]}
// and answers on stdout with jscpd's own JSON report shape ({"duplicates": [{"lines",
// "firstFile": {"name", "start", "end", "startLoc", "endLoc"}, "secondFile": {...}}]}), so
// that one parser reads this and `jscpd --reporters json`. It never reads a file: SHIM chooses
// and reads the files (its excludes, .gitignore and secret patterns), and may send buffers'
// unsaved text. Progress goes to stderr as "progress DONE TOTAL" lines.
//
// node jscpd_runner.js [JSCPD_PACKAGE_DIR]: jscpd's modules are loaded from beside that
// package (an `npm install -g jscpd`); without it, from where this file was bundled (the VS
// Code extension bundles them into this file with esbuild).
'use strict';

const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const path = require('node:path');

function load(jscpdDir) {
  if (jscpdDir) {
    const from = createRequire(path.join(path.resolve(jscpdDir), 'package.json'));
    return { core: from('@jscpd/core'), tokenizer: from('@jscpd/tokenizer') };
  }
  return { core: require('@jscpd/core'), tokenizer: require('@jscpd/tokenizer') };
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function side(duplication) {
  return {
    name: duplication.sourceId,
    start: duplication.start.line,
    end: duplication.end.line,
    startLoc: duplication.start,
    endLoc: duplication.end,
  };
}

async function main() {
  const { core, tokenizer } = load(process.argv[2]);
  const request = JSON.parse(await readStdin());
  const options = {
    ...core.getDefaultOptions(),
    minLines: request.minLines,
    minTokens: request.minTokens,
    mode: core.getModeHandler(request.mode || 'mild'),
    // As jscpd's CLI hashes: Node's native md5, not the tokenizer's JavaScript one.
    hashFunction: (value) => createHash('md5').update(value).digest('hex'),
  };
  const detector = new core.Detector(new tokenizer.Tokenizer(), new core.MemoryStore(), [], options);
  const clones = [];
  const files = request.files;
  for (let i = 0; i < files.length; i++) {
    clones.push(...(await detector.detect(files[i].id, files[i].text, 'python')));
    if ((i + 1) % 25 === 0 || i + 1 === files.length) {
      process.stderr.write(`progress ${i + 1} ${files.length}\n`);
    }
  }
  const duplicates = clones.map((clone) => ({
    format: clone.format,
    lines: clone.duplicationA.end.line - clone.duplicationA.start.line + 1,
    firstFile: side(clone.duplicationA),
    secondFile: side(clone.duplicationB),
  }));
  process.stdout.write(JSON.stringify({ duplicates }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
