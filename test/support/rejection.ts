/** What `promise` rejects with, typed as `T`; it throws (failing the test) if `promise` resolves. */
export function rejection<T = Error>(promise: Promise<unknown>): Promise<T> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as T,
  );
}
