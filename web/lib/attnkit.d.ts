/**
 * attnkit: attention and rotary position embedding kernels compiled to
 * WebAssembly. Every function copies its inputs into WebAssembly memory and
 * returns new tensors; no returned value is a view into the heap.
 */

/** A row-major tensor: `data.length` equals the product of `dims`. */
export interface TensorLike {
  readonly data: Float32Array;
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
  constructor(data: Float32Array, dims: readonly number[]);
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** Number of elements. */
  readonly size: number;
}

/** Options of {@link Attnkit.attention}. */
export interface AttentionOptions {
  /** Multiplier of Q·Kᵀ; default 1/√headDim. Replaces the default, never multiplies it. */
  scale?: number;
}

/** Options of {@link Attnkit.multiheadAttention}. */
export interface MultiheadAttentionOptions {
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
export interface RopeOptions {
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

/** The loaded module. */
export interface Attnkit {
  /** Library version, for example "0.1.0". */
  readonly version: string;
  /** Instruction set of the kernels: "wasm-simd128" in the WebAssembly build. */
  readonly simd: string;

  /**
   * Scaled dot-product attention, softmax(Q·Kᵀ·scale)·V, as PyTorch's
   * scaled_dot_product_attention computes it.
   *
   * Rank 3: q [batch, qLen, dim], k [batch, kvLen, dim], v [batch, kvLen, vDim]
   * (one head) and the result is [batch, qLen, vDim].
   * Rank 4: q [batch, heads, qLen, headDim], k [batch, kvHeads, kvLen, headDim],
   * v [batch, kvHeads, kvLen, vHeadDim], kvHeads dividing heads (query head h
   * reads key/value head floor(h / (heads / kvHeads))), and the result is
   * [batch, heads, qLen, vHeadDim]. A query row with kvLen = 0 returns zeros.
   * @throws {TypeError} if a tensor's data is not a Float32Array, or an option
   *   is unknown or of the wrong type.
   * @throws {RangeError} if lengths, ranks or dims do not match as above.
   */
  attention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): Tensor;

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
  rope(x: TensorLike, options?: RopeOptions): Tensor;

  /**
   * Builds cos and sin tables for positions 0 … maxPositions − 1 once, for
   * reuse across rope calls as cosCache and sinCache.
   * @throws {TypeError} for missing or unknown options.
   * @throws {RangeError} for an odd rotaryDim or bad scaling values.
   */
  ropeCache(options: RopeCacheOptions): RopeCacheTables;
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
