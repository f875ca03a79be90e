// ONNX backend cases through the conformance runner. Each case is one test,
// so a failure names the case, the output and its worst element.
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { findCaseFiles, loadCase } from '../conformance/cases.mjs';
import { runConformance } from '../conformance/conformance.mjs';

const dataDir = fileURLToPath(new URL('../data/onnx/', import.meta.url));

// Ops whose cases all run; every case file of these ops becomes a test.
const OPS = ['Attention', 'RotaryEmbedding'];

const caseNames = findCaseFiles([dataDir])
  .map((file) => loadCase(file))
  .filter((testCase) => OPS.includes(testCase.op))
  .map((testCase) => testCase.name);

describe('ONNX conformance', () => {
  let results;
  const resultFor = async (name) => {
    results ??= await runConformance([dataDir]);
    return results.find((r) => r.name === name);
  };

  test('finds the cases of every listed op', () => {
    expect(caseNames.length).toBeGreaterThan(0);
  });

  test.each(caseNames)('%s', async (name) => {
    const result = await resultFor(name);
    expect(result).toBeDefined();
    expect(result.message).toBe('');
    expect(result.ok).toBe(true);
  });
});
