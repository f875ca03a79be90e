/**
 * attnkit: attention and rotary position embedding kernels compiled to
 * WebAssembly. Every function copies its inputs into WebAssembly memory and
 * returns new tensors; no returned value is a view into the heap.
 */

/**
 * A row-major tensor: `data.length` equals the product of `dims`. Attention
 * inputs also accept a Uint16Array of IEEE float16 bits.
 */
export interface TensorLike {
  readonly data: Float32Array | Uint16Array;
  readonly dims: readonly number[];
}

/** A bool tensor: 1 = true, 0 = false. */
export interface BoolTensorLike {
  readonly data: Uint8Array;
  readonly dims: readonly number[];
}

/** An integer tensor, as ONNX int64 inputs or 32-bit integers. */
export interface IntTensorLike {
  readonly data: BigInt64Array | Int32Array;
  readonly dims: readonly number[];
}

/** A tensor whose length was checked against its dims at construction. */
export declare class Tensor implements TensorLike {
  /**
   * @throws {TypeError} if data is not a Float32Array (or a Uint16Array of
   *   float16 bits) or dims is not an array.
   * @throws {RangeError} if a dim is not a non-negative integer or
   *   data.length does not equal the product of dims.
   */
  constructor(data: Float32Array | Uint16Array, dims: readonly number[]);
  readonly data: Float32Array | Uint16Array;
  readonly dims: readonly number[];
  /** Number of elements. */
  readonly size: number;
}

/**
 * Options of {@link Attnkit.attention} and {@link Attnkit.attentionWithCache},
 * the attributes and optional inputs of ONNX Attention (opsets 23 and 24).
 * T below is the total key length: past length + new key length.
 */
export interface AttentionOptions {
  /** Multiplier of Q·Kᵀ; default 1/√headDim of Q and K. Replaces the default, never multiplies it. */
  scale?: number;
  /**
   * When > 0, scores become softcap·tanh(scores/softcap), after scaling and
   * before the mask is added. 0 (the default) turns it off; a negative or
   * non-finite value throws a RangeError.
   */
  softcap?: number;
  /**
   * Causal mask: query i (0-based in this call) may attend key j (0-based
   * over past and new keys) when j ≤ i + offset.
   * - `true`: the ONNX rule. offset = past length when `pastKey` is given,
   *   else `nonpadKvSeqlen[b]` − qLen when that is given, else 0 (top-left,
   *   as PyTorch's `is_causal`).
   * - `'top-left'`: offset = 0 always.
   * - `'bottom-right'`: offset = T − qLen (`nonpadKvSeqlen[b]` − qLen when
   *   given), so the last query attends to every key, as FlashAttention aligns it.
   * - `false` (default): no causal mask.
   * Rows left with no key return zeros.
   */
  causal?: boolean | 'top-left' | 'bottom-right';
  /** Query heads of rank-3 q (batch, qLen, qNumHeads·headDim); default 1. For rank 4 it must equal q's heads. */
  qNumHeads?: number;
  /** Key/value heads of rank-3 k and v; default qNumHeads. Must divide qNumHeads. */
  kvNumHeads?: number;
  /**
   * Attention mask of rank 2, 3 or 4, broadcast numpy-style (aligned from
   * the right) against (batch, qHeads, qLen, T). Uint8Array data is bool:
   * 1 = attend, 0 = blocked. Float data (Float32Array, or Uint16Array of
   * float16 bits) is added to the scores after the softcap, and −∞ blocks the
   * key. A last axis between 2 and T − 1 covers the first keys only; the rest
   * are blocked (ONNX opset 24). A last axis of 1 broadcasts over all keys.
   */
  mask?: TensorLike | BoolTensorLike;
  /** Cached keys (batch, kvHeads, pastLen, headDim), prepended to k. Give with pastValue. */
  pastKey?: TensorLike;
  /** Cached values (batch, kvHeads, pastLen, vHeadDim), prepended to v. Give with pastKey. */
  pastValue?: TensorLike;
  /**
   * Valid key count per batch, dims (batch): keys j ≥ nonpadKvSeqlen[b] are
   * blocked in batch b, and each value lies in [0, T]. Cannot be combined
   * with pastKey/pastValue.
   */
  nonpadKvSeqlen?: IntTensorLike;
  /**
   * Stage of the scores that attentionWithCache returns as qkOutput, dims
   * (batch, qHeads, qLen, T). 0: scale·Q·Kᵀ. 1: after the softcap. 2: after
   * the softcap and the mask, with −∞ at blocked keys. 3: the softmax
   * probabilities, with zero rows where every key is blocked. Without this
   * option, no qkOutput is made.
   * attention() ignores the output.
   */
  qkMatmulOutputMode?: 0 | 1 | 2 | 3;
  /**
   * Softmax precision as an ONNX type code: 1 (float32), 10 (float16) or 16
   * (bfloat16), or the names 'float32', 'float16', 'bfloat16'. The softmax
   * always runs in float32, which is at least as precise; 11 (float64) throws.
   */
  softmaxPrecision?: 1 | 10 | 16 | 'float32' | 'float16' | 'bfloat16';
}

/** Result of {@link Attnkit.attentionWithCache}. */
export interface AttentionWithCacheResult {
  /** Attention output, shaped like attention()'s result; float16 bits when q is float16. */
  output: Tensor;
  /** concat(pastKey, k) as (batch, kvHeads, T, headDim), in k's type. */
  presentKey: Tensor;
  /** concat(pastValue, v) as (batch, kvHeads, T, vHeadDim), in v's type. */
  presentValue: Tensor;
  /** Scores (batch, qHeads, qLen, T) at the qkMatmulOutputMode stage; undefined without that option. */
  qkOutput: Tensor | undefined;
}

/** Weights of {@link Attnkit.multiheadAttentionForward}, as nn.MultiheadAttention stores them. */
export interface MultiheadAttentionWeights {
  /** (3E, E): rows [0, E) project q, [E, 2E) k and [2E, 3E) v. */
  inProjWeight: TensorLike;
  /** (3E) bias of the input projection. */
  inProjBias?: TensorLike;
  /** (E, E) output projection: out = concat · outProjWeightᵀ + outProjBias. */
  outProjWeight: TensorLike;
  /** (E) bias of the output projection. */
  outProjBias?: TensorLike;
}

/** Options of {@link Attnkit.multiheadAttentionForward}. */
export interface MultiheadAttentionForwardOptions {
  /** Number of heads; must divide E. Required. */
  numHeads: number;
  /**
   * (qLen, kvLen) or (batch·numHeads, qLen, kvLen). Uint8Array data uses
   * PyTorch's polarity: 1 = masked out. Float32Array data is added.
   */
  attnMask?: TensorLike | BoolTensorLike;
  /** (batch, kvLen): Uint8Array 1 = padding (ignored); Float32Array data is added. */
  keyPaddingMask?: TensorLike | BoolTensorLike;
  /** Top-left causal mask: query i attends to keys 0..i. Default false. */
  causal?: boolean;
  /** Multiplier of Q·Kᵀ; default 1/√(E / numHeads). */
  scale?: number;
  /** Return the attention weights. Default false (PyTorch's default is true). */
  needWeights?: boolean;
  /** Average the weights over heads (batch, qLen, kvLen) instead of (batch, heads, qLen, kvLen). Default true. */
  averageAttnWeights?: boolean;
}

/** Result of {@link Attnkit.multiheadAttentionForward}. */
export interface MultiheadAttentionForwardResult {
  /** (batch, qLen, E). */
  output: Tensor;
  /** Softmax weights when needWeights is set, else undefined. */
  attentionWeights: Tensor | undefined;
}

/** Options of {@link Attnkit.multiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Multiplier of Q·Kᵀ; default 1/√headDim. */
  scale?: number;
  /** Bias [E] added after the output projection, like out_proj.bias. */
  outBias?: TensorLike;
}

/** Options of {@link Attnkit.rope}. */
export interface RopeOptions {
  /** θ base: pair i turns by position · base^(−2i/headDim). Default 10000. */
  base?: number;
  /**
   * Pair layout. true (default): pairs (x[2i], x[2i+1]), as RoFormer and
   * torchtune. false: pairs (x[i], x[i + headDim/2]), the rotate_half form
   * of Hugging Face transformers and GPT-NeoX.
   */
  interleaved?: boolean;
  /** Position of the first token (an integer, default 0), for decoding after a cache. */
  positionOffset?: number;
}

/** The loaded module. */
export interface Attnkit {
  /** Library version, for example "0.1.0". */
  readonly version: string;
  /** Instruction set of the kernels: "wasm-simd128" in the WebAssembly build. */
  readonly simd: string;

  /**
   * Scaled dot-product attention, softmax(Q·Kᵀ·scale + bias)·V, as ONNX
   * Attention and PyTorch's scaled_dot_product_attention compute it.
   *
   * Rank 4: q (batch, qHeads, qLen, headDim), k (batch, kvHeads, kvLen, headDim),
   * v (batch, kvHeads, kvLen, vHeadDim); the result is
   * (batch, qHeads, qLen, vHeadDim). Rank 3: q (batch, qLen, qNumHeads·headDim),
   * k and v (batch, kvLen, kvNumHeads·dim), heads split as [head][dim]; the
   * result is (batch, qLen, qNumHeads·vHeadDim). kvHeads divides qHeads and
   * query head h reads key/value head floor(h / (qHeads / kvHeads)).
   * qLen = 0 gives an empty result; kvLen = 0 and rows whose keys are all
   * blocked give zeros. float16 inputs (Uint16Array) give a float16 result.
   * @throws {TypeError} if a tensor's data has the wrong type, or an option
   *   is unknown or of the wrong type.
   * @throws {RangeError} if lengths, ranks, dims or option values do not
   *   match as described in {@link AttentionOptions}.
   */
  attention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): Tensor;

  /**
   * attention() that also returns the KV cache (presentKey, presentValue)
   * and, when qkMatmulOutputMode is given, the scores.
   * @throws {TypeError} as attention().
   * @throws {RangeError} as attention().
   */
  attentionWithCache(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): AttentionWithCacheResult;

  /**
   * torch.nn.functional.multi_head_attention_forward for batch-first inputs
   * without dropout: query (batch, qLen, E), key and value (batch, kvLen, E),
   * packed input projection, attention per head, output projection.
   * A query row whose keys are all masked returns the output bias (its
   * attention is zero), where PyTorch returns NaN.
   * @throws {TypeError} for wrong data types, unknown options or a missing numHeads.
   * @throws {RangeError} for mismatched dims.
   */
  multiheadAttentionForward(
    query: TensorLike,
    key: TensorLike,
    value: TensorLike,
    weights: MultiheadAttentionWeights,
    options: MultiheadAttentionForwardOptions,
  ): MultiheadAttentionForwardResult;

  /**
   * Multi-head attention on projected inputs q, k, v [batch, heads, seq,
   * headDim] (k and v share their seq) and the output projection o [E, E],
   * E = heads·headDim. Heads are concatenated to [batch, qLen, E] and the
   * result is concat · oᵀ (+ outBias), as nn.MultiheadAttention applies
   * out_proj.
   * @throws {TypeError} for wrong data types or unknown options.
   * @throws {RangeError} for mismatched dims or o not [E, E].
   */
  multiheadAttention(
    q: TensorLike,
    k: TensorLike,
    v: TensorLike,
    o: TensorLike,
    options?: MultiheadAttentionOptions,
  ): Tensor;

  /**
   * Rotary position embedding of x [batch, seq, heads, headDim] (headDim
   * even): pair i of the token at position m (positionOffset + its index)
   * turns by m·θᵢ, θᵢ = base^(−2i/headDim). Returns a new tensor of x's dims.
   * @throws {TypeError} for wrong data types or unknown options.
   * @throws {RangeError} for an odd headDim or mismatched dims.
   */
  rope(x: TensorLike, options?: RopeOptions): Tensor;
}

/** Options of {@link loadAttnkit}. */
export interface LoadOptions {
  /** Bytes of attnkit.wasm; by default Node reads them from the package. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Maps a file name of the package's dist/ folder to the URL to load it from. */
  locateFile?: (file: string) => string;
}

/**
 * Loads the WebAssembly module. Calls without wasmBinary or locateFile share
 * one instance.
 */
export declare function loadAttnkit(options?: LoadOptions): Promise<Attnkit>;
