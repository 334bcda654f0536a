/**
 * Realtime clients that have handshaken but not yet made an authorized subscription, counted per
 * remote address and in total. A handshake needs no credentials and each client costs the server
 * memory until it times out (about 2 KB for twice the long-poll timeout), so a flood of handshakes
 * from one address, or from many, is refused past these caps. A client leaves the count on its
 * first authorized subscription or when it disconnects or times out.
 */
export class UnauthenticatedClients {
  readonly #perAddress: number;
  readonly #total: number;
  /** Client id → remote address. */
  readonly #clients = new Map<string, string>();
  readonly #byAddress = new Map<string, number>();

  constructor(perAddress: number, total: number) {
    this.#perAddress = perAddress;
    this.#total = total;
  }

  /** Why a new client from `address` is refused, or null when there is room for it. */
  refusal(address: string): string | null {
    if (this.#clients.size >= this.#total) return 'too many unauthenticated clients on this server';
    if ((this.#byAddress.get(address) ?? 0) >= this.#perAddress) return 'too many unauthenticated clients from this address';
    return null;
  }

  /** Counts a client that has just handshaken. */
  add(clientId: string, address: string): void {
    if (this.#clients.has(clientId)) return;
    this.#clients.set(clientId, address);
    this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1);
  }

  /** Stops counting a client: it subscribed with a valid token, disconnected or timed out. */
  remove(clientId: string): void {
    const address = this.#clients.get(clientId);
    if (address === undefined) return;
    this.#clients.delete(clientId);
    const n = this.#byAddress.get(address)!;
    if (n > 1) this.#byAddress.set(address, n - 1);
    else this.#byAddress.delete(address);
  }

  get size(): number {
    return this.#clients.size;
  }
}
