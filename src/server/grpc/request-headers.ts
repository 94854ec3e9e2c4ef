import type { IncomingHttpHeaders } from "node:http2";

/**
 * The request headers of a gRPC call as a Fetch API Headers, read straight from the
 * HTTP/2 header object. get() and has(), all the pipeline uses, look the name up there;
 * any other method first copies the headers into a real Headers and delegates to it, as
 * do get() and has() from then on. Building a Headers validates every name and value,
 * which showed in profiles of every call, while node:http2 has already checked them.
 *
 * The copy and the lookups both leave out the pseudo-headers (":path" and others), as
 * Connect's Node.js adapter does, and both join repeated values with ", ". Unlike
 * Headers, get() returns null for an invalid header name instead of throwing.
 */
export class RequestHeaders implements Headers {
  readonly #source: IncomingHttpHeaders;
  #copy: Headers | undefined;

  constructor(source: IncomingHttpHeaders) {
    this.#source = source;
  }

  get(name: string): string | null {
    if (this.#copy !== undefined) {
      return this.#copy.get(name);
    }
    const key = name.toLowerCase();
    if (key.startsWith(":")) {
      return null;
    }
    const value = this.#source[key];
    if (value === undefined) {
      return null;
    }
    return Array.isArray(value) ? value.join(", ") : value;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  append(name: string, value: string): void {
    this.#headers().append(name, value);
  }

  delete(name: string): void {
    this.#headers().delete(name);
  }

  set(name: string, value: string): void {
    this.#headers().set(name, value);
  }

  getSetCookie(): string[] {
    return this.#headers().getSetCookie();
  }

  forEach(callback: (value: string, key: string, iterable: Headers) => void, thisArg?: unknown): void {
    this.#headers().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#headers().keys();
  }

  values(): ReturnType<Headers["values"]> {
    return this.#headers().values();
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#headers().entries();
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.#headers().entries();
  }

  #headers(): Headers {
    if (this.#copy === undefined) {
      const copy = new Headers();
      for (const name in this.#source) {
        const value = this.#source[name];
        if (name.startsWith(":") || value === undefined) {
          continue;
        }
        if (Array.isArray(value)) {
          value.forEach((item) => copy.append(name, item));
        } else {
          copy.append(name, value);
        }
      }
      this.#copy = copy;
    }
    return this.#copy;
  }
}
