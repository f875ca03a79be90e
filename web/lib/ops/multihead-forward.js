// Placeholder replaced below.
export function multiheadForwardOp() {
  return () => {
    throw new Error('multiheadAttentionForward: not built yet');
  };
}
