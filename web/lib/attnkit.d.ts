/**
 * attnkit: attention and rotary position embedding kernels compiled to
 * WebAssembly. Every function copies its inputs into WebAssembly memory and
 * returns new tensors; no returned value is a view into the heap.
 * docs/errors.md lists every error, the size limits and what NaN and
 * infinity in the data produce.
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

  /**
   * Returns the instance's memory statistics, for checking that repeated
   * calls leave the heap flat.
   */
  heapStats(): HeapStats;

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
  /**
   * Create a separate instance with its own WebAssembly memory instead of
   * returning the shared one. Default false.
   */
  newInstance?: boolean;
  /** Bytes of attnkit.wasm; by default Node reads them from the package. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Maps a file name of the package's dist/ folder to the URL to load it from. */
  locateFile?: (file: string) => string;
}

/**
 * Loads the WebAssembly module. Calls without options share one instance;
 * newInstance, wasmBinary or locateFile create a new one. The promise
 * rejects with a TypeError for an unknown option or a newInstance that is
 * not a boolean.
 */
export declare function loadAttnkit(options?: LoadOptions): Promise<Attnkit>;
