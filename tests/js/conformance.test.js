// ONNX backend cases through the conformance runner. Each case is one test,
// so a failure names the case, the output and its worst element.
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { runConformance } from '../conformance/conformance.mjs';

const dataDir = fileURLToPath(new URL('../data/onnx/', import.meta.url));

// Cases whose inputs need only the features built so far: plain 3-D and 4-D
// attention without masks, caches or causal masking, and every
// RotaryEmbedding case.
const SUPPORTED = new Set([
  'test_attention_4d',
  'test_attention_4d_diff_heads_sizes_scaled',
  'test_attention_4d_gqa',
  'test_attention_4d_gqa_scaled',
  'test_rotary_embedding',
  'test_rotary_embedding_3d_input',
  'test_rotary_embedding_interleaved',
  'test_rotary_embedding_no_position_ids',
  'test_rotary_embedding_with_interleaved_rotary_dim',
  'test_rotary_embedding_with_rotary_dim',
]);

describe('ONNX conformance', () => {
  let results;
  const resultFor = async (name) => {
    results ??= await runConformance([dataDir]);
    return results.find((r) => r.name === name);
  };

  test.each([...SUPPORTED])('%s', async (name) => {
    const result = await resultFor(name);
    expect(result).toBeDefined();
    expect(result.message).toBe('');
    expect(result.ok).toBe(true);
  });
});
