/**
 * attnkit: attention and rotary position embedding kernels compiled to
 * WebAssembly. By default every function copies its inputs into WebAssembly
 * memory and returns new tensors. Tensors from {@link Attnkit.alloc} live in
 * WebAssembly memory: they are read in place as inputs, and the `out` option
 * writes a result into one without a copy.
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
   * A tensor from this module's alloc() with the result's dims. The result
   * is written there and `out` is returned. It may not overlap an input.
   * @throws {TypeError} if out is not a live alloc() tensor of this module.
   * @throws {RangeError} if its size or dims differ from the result's, or it
   *   overlaps an input.
   */
  out?: HeapTensor;
}

/** Options of {@link Attnkit.attention}. */
export interface AttentionOptions extends OutOption {
  /** Multiplier of Q·Kᵀ; default 1/√headDim. Replaces the default, never multiplies it. */
  scale?: number;
}

/** Options of {@link Attnkit.multiheadAttention}. */
export interface MultiheadAttentionOptions extends OutOption {
  /** Multiplier of Q·Kᵀ; default 1/√headDim. */
  scale?: number;
  /** Bias [E] added after the output projection, like out_proj.bias. */
  outBias?: TensorLike;
}

/** Options of {@link Attnkit.rope}. */
export interface RopeOptions extends OutOption {
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
  /** Number of threads the operations use (1 for the single-thread build). */
  readonly threads: number;
  /**
   * Why a request for more than one thread loaded the single-thread build
   * instead (no SharedArrayBuffer, or a page that is not cross-origin
   * isolated), or null.
   */
  readonly threadsFallback: string | null;

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
  attention(q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions): Tensor | HeapTensor;

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
   * Rotary position embedding of x [batch, seq, heads, headDim] (headDim
   * even): pair i of the token at position m (positionOffset + its index)
   * turns by m·θᵢ, θᵢ = base^(−2i/headDim). Returns a new tensor of x's dims.
   * @throws {TypeError} for wrong data types or unknown options.
   * @throws {RangeError} for an odd headDim or mismatched dims.
   */
  rope(x: TensorLike, options?: RopeOptions): Tensor | HeapTensor;

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
 * Loads the WebAssembly module. Calls with the same threads and without
 * wasmBinary or locateFile share one instance.
 * @throws {TypeError} (as a rejection) if options or threads have the wrong type.
 * @throws {RangeError} (as a rejection) if threads is not an integer from 1 to 64.
 */
export declare function loadAttnkit(options?: LoadOptions): Promise<Attnkit>;
