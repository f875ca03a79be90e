/**
 * attnkit: attention and rotary position embedding kernels compiled to
 * WebAssembly. By default every function copies its inputs into WebAssembly
 * memory and returns new tensors. Tensors from {@link Attnkit.alloc} live in
 * WebAssembly memory: they are read in place as inputs, and the `out` option
 * writes a result into one without a copy.
 * docs/errors.md lists every error, the size limits and what NaN and
 * infinity in the data produce.
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
 * A float32 tensor in WebAssembly memory, from {@link Attnkit.alloc}.
 *
 * `data` returns a new Float32Array view on each access. Growing the
 * WebAssembly memory (any allocation may grow it) detaches every earlier
 * view of the single-thread build, whose length then reads 0. In the pthread
 * build the memory is shared and old views keep their length, but inputs
 * passed as such views are copied. So read `data` again after each call
 * instead of keeping a view. The values themselves never move.
 */
export declare class HeapTensor implements TensorLike {
  /** @throws {TypeError} after dispose(). */
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** True once dispose() has run. */
  readonly disposed: boolean;
  /** Frees the memory. Later calls do nothing, and nothing else frees it. */
  dispose(): void;
}

/** The `out` option shared by every operation. */
export interface OutOption {
  /**
   * Where the result goes; `out` is returned. Its dims must be the
   * result's, and it receives float32 values also when the inputs are float16.
   * - A tensor from this module's alloc(): the result is written there
   *   without a copy. It may not overlap an input.
   * - A tensor whose data is a Float32Array outside WebAssembly memory: the
   *   result is copied into it, so a loop that reuses it allocates no new
   *   array per call. It may be an input (for example rope(x, { out: x })).
   * An undefined out is ignored. attentionWithCache,
   * multiheadAttentionForward and ropeCache, which return several tensors,
   * reject it before they run, and rope rejects it together with inPlace.
   * @throws {TypeError} if out is neither, or is disposed, or the operation
   *   returns several tensors.
   * @throws {RangeError} if its size or dims differ from the result's, or an
   *   alloc() tensor overlaps an input.
   */
  out?: HeapTensor | { data: Float32Array; dims: readonly number[] };
}

/**
 * Options of {@link Attnkit.attention} and {@link Attnkit.attentionWithCache},
 * the attributes and optional inputs of ONNX Attention (opsets 23 and 24).
 * T below is the total key length: past length + new key length.
 */
export interface AttentionOptions extends OutOption {
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
export interface MultiheadAttentionOptions extends OutOption {
  /** Multiplier of Q·Kᵀ; default 1/√headDim. */
  scale?: number;
  /** Bias [E] added after the output projection, like out_proj.bias. */
  outBias?: TensorLike;
}

/** Integer positions of shape [batch, seq]. */
export interface PositionIds {
  readonly data: Int32Array | BigInt64Array;
  readonly dims: readonly number[];
}

/**
 * Linear scaling (position interpolation): θᵢ' = θᵢ / factor, the same as
 * dividing every position by factor.
 */
export interface LinearRopeScaling {
  type: 'linear';
  /** Context extension factor, > 0. */
  factor: number;
}

/**
 * Dynamic NTK scaling: the base grows with the current length L,
 * base' = base · (factor·L' / originalMaxPositions − (factor − 1))^(r/(r − 2)),
 * L' = max(L, originalMaxPositions), r = rotaryDim (at least 4). Nothing
 * changes while L ≤ originalMaxPositions. Keys rotated earlier at another
 * base are not re-rotated, because that policy belongs to the caller.
 */
export interface NtkRopeScaling {
  type: 'ntk';
  /** Context extension factor, > 0. */
  factor: number;
  /** Context length the model was trained with. */
  originalMaxPositions: number;
  /** Current sequence length L (for example past plus new tokens). */
  currentLength: number;
}

/**
 * YaRN scaling. With d(n) = r·ln(originalMaxPositions / (n·2π)) / (2·ln base),
 * low = max(floor(d(betaFast)), 0) and high = min(ceil(d(betaSlow)), r − 1)
 * (no floor/ceil when truncate is false), ramp(i) = clamp((i − low) / (high − low), 0, 1)
 * and θᵢ' = (θᵢ / factor)·ramp(i) + θᵢ·(1 − ramp(i)). cos and sin are
 * multiplied by the attention factor, so q·k logits scale by its square.
 */
export interface YarnRopeScaling {
  type: 'yarn';
  /** Context extension factor, > 0. */
  factor: number;
  /** Context length the model was trained with. */
  originalMaxPositions: number;
  /** Turn count that bounds the extrapolated (fast) channels; default 32. */
  betaFast?: number;
  /** Turn count that bounds the interpolated (slow) channels; default 1. */
  betaSlow?: number;
  /** Round the ramp bounds to integers; default true, as in Hugging Face transformers. */
  truncate?: boolean;
  /**
   * Multiplier of cos and sin. When omitted it is derived as Hugging Face
   * transformers does: mscale(factor, mscale) / mscale(factor, mscaleAllDim)
   * when both keys are non-zero, else mscale(factor, 1), with
   * mscale(s, m) = 0.1·m·ln(s) + 1 for s > 1 and 1 otherwise.
   */
  attentionFactor?: number;
  /** DeepSeek-style config key used by the attentionFactor derivation; 0 or absent means unset. */
  mscale?: number;
  /** DeepSeek-style config key used by the attentionFactor derivation; 0 or absent means unset. */
  mscaleAllDim?: number;
}

/**
 * Llama 3 scaling by wavelength λᵢ = 2π/θᵢ: λᵢ < originalMaxPositions/highFreqFactor
 * keeps θᵢ, λᵢ > originalMaxPositions/lowFreqFactor gives θᵢ/factor, and in
 * between θᵢ' = (1 − s)·θᵢ/factor + s·θᵢ with
 * s = (originalMaxPositions/λᵢ − lowFreqFactor) / (highFreqFactor − lowFreqFactor).
 */
export interface Llama3RopeScaling {
  type: 'llama3';
  /** Divisor of the low frequencies, > 0. */
  factor: number;
  /** Lower band limit factor, > 0. */
  lowFreqFactor: number;
  /** Upper band limit factor, greater than lowFreqFactor. */
  highFreqFactor: number;
  /** Context length the model was trained with. */
  originalMaxPositions: number;
}

/** Frequency scaling for contexts longer than the trained length. */
export type RopeScaling = LinearRopeScaling | NtkRopeScaling | YarnRopeScaling | Llama3RopeScaling;

/** Options of {@link Attnkit.rope}. */
export interface RopeOptions extends OutOption {
  /**
   * θ base: pair i turns by position · θᵢ, θᵢ = base^(−2i/rotaryDim), before
   * scaling. Default 10000. Not allowed with cosCache/sinCache.
   */
  base?: number;
  /**
   * Pair layout. true (default): pairs (x[2i], x[2i+1]), as RoFormer,
   * torchtune and ONNX interleaved = 1. false: pairs (x[i], x[i + rotaryDim/2]),
   * the rotate_half form of Hugging Face transformers and GPT-NeoX.
   */
  interleaved?: boolean;
  /**
   * Axis order of a rank-4 x: 'bshd' (default) is [batch, seq, heads, headDim],
   * 'bhsd' is [batch, heads, seq, headDim] (the ONNX 4-D order). A rank-3 x
   * is always [batch, seq, heads·headDim].
   */
  layout?: 'bshd' | 'bhsd';
  /** Number of heads; required for a rank-3 x, and must match the dims of a rank-4 x. */
  numHeads?: number;
  /**
   * Number of leading channels of each head that are rotated (even, at most
   * headDim, default headDim); the other channels are copied unchanged.
   * Frequencies and split-half partners use rotaryDim, not headDim.
   */
  rotaryDim?: number;
  /** Position of the first token (an integer, default 0): token s sits at positionOffset + s. */
  positionOffset?: number;
  /** Position of every token, [batch, seq]. Cannot be combined with positionOffset. */
  positionIds?: PositionIds;
  /**
   * Precomputed cos table, given together with sinCache (same dims), for
   * example from {@link Attnkit.ropeCache}. Shapes:
   * [maxPositions, width], read at row positionIds[b, s] or positionOffset + s,
   * every position inside 0 … maxPositions − 1; or [batch, seq, width], one row
   * per token (then no positions may be given). The width is rotaryDim/2 (the ONNX
   * form, entry k for pair k) or rotaryDim (the full-width form of Hugging
   * Face's apply_rotary_pos_emb, entry j for channel j, both halves used as
   * given).
   */
  cosCache?: TensorLike;
  /** Precomputed sin table, shaped as cosCache. */
  sinCache?: TensorLike;
  /** Frequency scaling, not allowed with cosCache/sinCache. */
  scaling?: RopeScaling;
  /**
   * Write the result into x.data and return x in place of a new tensor.
   * Default false. x.data is still copied into WebAssembly memory and back,
   * but no output buffer or new array is allocated, and the kernel rotates
   * that one buffer in place.
   */
  inPlace?: boolean;
}

/** Options of {@link Attnkit.ropeCache}. */
export interface RopeCacheOptions {
  /** Number of positions (rows), 0 … maxPositions − 1. */
  maxPositions: number;
  /** Rotated width (even). The tables have rotaryDim/2 columns. */
  rotaryDim: number;
  /** θ base, default 10000. */
  base?: number;
  /** Frequency scaling. The YaRN attention factor is folded into the tables. */
  scaling?: RopeScaling;
}

/** Tables built by {@link Attnkit.ropeCache}, each [maxPositions, rotaryDim/2]. */
export interface RopeCacheTables {
  readonly cosCache: Tensor;
  readonly sinCache: Tensor;
}

/** Memory statistics of one module instance, from {@link Attnkit.heapStats}. */
export interface HeapStats {
  /** Size of the instance's WebAssembly memory in bytes. */
  readonly heapBytes: number;
  /** Bytes malloc has handed out and not freed (dlmalloc's uordblks). */
  readonly allocatedBytes: number;
  /** Buffers the wrapper has allocated and not yet freed; 0 between calls. */
  readonly liveAllocations: number;
}

/** The loaded module. */
export interface Attnkit {
  /** Library version, for example "0.1.0". */
  readonly version: string;
  /** Instruction set of the kernels: "wasm-simd128" in the WebAssembly build. */
  readonly simd: string;
  /** Number of threads the operations use (1 for the single-thread build). */
  readonly threads: number;
  /**
   * Reason that a request for more than one thread loaded the single-thread build
   * instead (no SharedArrayBuffer, or a page that is not cross-origin
   * isolated), or null.
   */
  readonly threadsFallback: string | null;

  /**
   * Returns the instance's memory statistics, for checking that repeated
   * calls leave the heap flat.
   */
  heapStats(): HeapStats;

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
  attention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): Tensor | HeapTensor;

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
  ): Tensor | HeapTensor;

  /**
   * Rotary position embedding of x: [batch, seq, heads, headDim] (default),
   * [batch, heads, seq, headDim] with layout 'bhsd', or [batch, seq,
   * heads·headDim] with numHeads. Each pair (a, b) of the first rotaryDim
   * channels of a token at position m becomes
   * (a·cos(m·θᵢ) − b·sin(m·θᵢ), a·sin(m·θᵢ) + b·cos(m·θᵢ)), or uses the
   * cosCache/sinCache entries. Angles are computed in double and rounded to
   * float once. Matches ONNX RotaryEmbedding (opset 23).
   * Returns a new tensor of x's dims, or x itself with inPlace.
   * @throws {TypeError} for wrong data types, unknown, missing or conflicting options.
   * @throws {RangeError} for an odd headDim or rotaryDim, rotaryDim > headDim,
   *   mismatched dims, positionIds of the wrong shape, positions outside a
   *   given cache, an unknown scaling type or a bad scaling value.
   */
  rope(x: TensorLike, options?: RopeOptions): Tensor | HeapTensor;

  /**
   * Builds cos and sin tables for positions 0 … maxPositions − 1 once, for
   * reuse across rope calls as cosCache and sinCache.
   * @throws {TypeError} for missing or unknown options.
   * @throws {RangeError} for an odd rotaryDim or bad scaling values.
   */
  ropeCache(options: RopeCacheOptions): RopeCacheTables;

  /**
   * Allocates a zero-filled tensor of `dims` in WebAssembly memory, for
   * loops that call attnkit on every token: such inputs are not copied.
   * Call dispose() when done.
   * @throws {TypeError} if dims is not an array.
   * @throws {RangeError} if a dim is not a non-negative integer or the
   *   memory cannot hold the tensor.
   */
  alloc(dims: readonly number[]): HeapTensor;

  /** Current size of the WebAssembly memory in bytes. */
  memoryBytes(): number;
}

/** Options of {@link loadAttnkit}. */
export interface LoadOptions {
  /**
   * Create a separate instance with its own WebAssembly memory instead of
   * returning the shared one. Default false.
   */
  newInstance?: boolean;
  /** Bytes of attnkit.wasm; by default Node reads them from the package. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Maps a file name of the package's dist/ folder to the URL to load it from. */
  locateFile?: (file: string) => string;
  /**
   * Threads for the operations, 1 (default) to 64. Above 1 the pthread build
   * (attnkit-threads.wasm, whose bytes wasmBinary must then hold) is loaded
   * with a fixed pool of threads − 1 workers, when SharedArrayBuffer is
   * allowed: always in Node, on cross-origin isolated pages in browsers.
   * Results are bit-identical for every count.
   */
  threads?: number;
}

/**
 * Loads the WebAssembly module. Calls without options share one instance;
 * newInstance, wasmBinary or locateFile create a new one. The promise
 * rejects with a TypeError for an unknown option or a newInstance that is
 * not a boolean, a TypeError for a threads that is not a number, and a
 * RangeError for one that is not an integer from 1 to 64. Each thread count
 * has its own shared instance.
 */
export declare function loadAttnkit(options?: LoadOptions): Promise<Attnkit>;
