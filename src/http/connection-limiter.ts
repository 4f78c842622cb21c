import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server, Socket } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import { clientKey } from "./client-key.js";
import { readDescriptorLimit } from "./descriptor-limit.js";

/** How many connections the dashboard server keeps at once. */
export interface ConnectionLimits {
  /** Most open connections in all. */
  readonly maxConnections: number;
  /** Most open connections of one client (an IPv4 address, or an IPv6 /64). */
  readonly maxConnectionsPerClient: number;
}

/**
 * Timeouts of the dashboard server (node:http server options, in ms): 5 s to
 * send the request's headers from the moment of connecting, 10 s for the
 * whole request, 3 s for an idle keep-alive connection; checked every second
 * (node's default is every 30 s). Event streams are not affected: their
 * requests are complete once their headers are.
 */
export const HTTP_SERVER_TIMEOUTS = Object.freeze({
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  keepAliveTimeout: 3_000,
  connectionsCheckingInterval: 1_000,
});

/**
 * The default limits for a process allowed `descriptorLimit` open files: a
 * quarter of them (at most 1024) for connections, so that three quarters stay
 * in reserve for what the scheduler opens (command pipes, SQLite files,
 * worker threads, outgoing requests); a quarter of that (2 to 64) per client.
 */
export function connectionLimitsFor(descriptorLimit: number): ConnectionLimits {
  const maxConnections = Math.max(4, Math.min(1024, Math.floor(descriptorLimit / 4)));
  return {
    maxConnections,
    maxConnectionsPerClient: Math.max(2, Math.min(64, Math.ceil(maxConnections / 4))),
  };
}

/**
 * The given limits, checked, with the others from {@link connectionLimitsFor}
 * of this process's descriptor limit.
 * @throws InvalidArgumentError naming `argument` for a limit that is not a whole number, 1 or more.
 */
export function connectionLimits(
  given: Partial<ConnectionLimits> = {},
  argument = "connectionLimits",
  descriptorLimit: () => number = readDescriptorLimit,
): ConnectionLimits {
  const defaults = connectionLimitsFor(descriptorLimit());
  const pick = (name: keyof ConnectionLimits): number => {
    const value = given[name];
    if (value === undefined) return defaults[name];
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError(`${argument}.${name}`, "a whole number, 1 or more", value);
    return value;
  };
  return {
    maxConnections: pick("maxConnections"),
    maxConnectionsPerClient: pick("maxConnectionsPerClient"),
  };
}

interface Connection {
  readonly socket: Socket;
  readonly client: string;
  /** True once a whole request head has come in on it. */
  used: boolean;
  /** Authenticated requests in progress on it (event streams included). */
  trusted: number;
}

/**
 * Keeps a server's open connections under {@link ConnectionLimits}. A new
 * connection over a limit takes the place of another, which is destroyed:
 * the oldest that has not sent a whole request head yet, else the least
 * recently active that carries no authenticated request (an idle keep-alive,
 * an unauthenticated request). So connections that send partial headers and
 * wait cannot keep anyone out, not even a client on the same address. When
 * every connection concerned carries an authenticated request, the new one
 * is destroyed.
 */
export class ConnectionLimiter {
  readonly #limits: ConnectionLimits;
  /** Least recently active first (re-inserted on activity). */
  readonly #all = new Map<Socket, Connection>();
  readonly #byClient = new Map<string, Map<Socket, Connection>>();

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Starts limiting the connections of `server` (node:http or node:https). */
  attach(server: Server): void {
    server.on("connection", (socket: Socket) => this.#admit(socket));
    server.on("request", (request: IncomingMessage) => {
      const connection = this.#all.get(rawSocket(request.socket));
      if (connection !== undefined) connection.used = true;
    });
  }

  /**
   * Marks the connection of an authenticated request as not to be displaced
   * until its response ends (event streams: until they close).
   */
  trust(request: IncomingMessage, response: ServerResponse): void {
    const connection = this.#all.get(rawSocket(request.socket));
    if (connection === undefined) return;
    connection.trusted++;
    this.#touch(connection);
    response.once("close", () => {
      connection.trusted--;
      this.#touch(connection);
    });
  }

  #admit(socket: Socket): void {
    const client = clientKey(socket.remoteAddress);
    const own = this.#byClient.get(client);
    if (
      (own !== undefined &&
        own.size >= this.#limits.maxConnectionsPerClient &&
        !this.#displaceFrom(own)) ||
      (this.#all.size >= this.#limits.maxConnections && !this.#displaceFrom(this.#all))
    ) {
      socket.destroy();
      return;
    }
    const connection: Connection = { socket, client, used: false, trusted: 0 };
    this.#all.set(socket, connection);
    const mine = own ?? new Map<Socket, Connection>();
    mine.set(socket, connection);
    this.#byClient.set(client, mine);
    socket.once("close", () => this.#forget(connection));
  }

  /** Destroys one connection of `connections` to make room (see the class); false when none may go. */
  #displaceFrom(connections: ReadonlyMap<Socket, Connection>): boolean {
    let idle: Connection | undefined;
    for (const connection of connections.values()) {
      if (!connection.used) {
        idle = connection;
        break;
      }
      if (connection.trusted === 0) idle ??= connection;
    }
    if (idle === undefined) return false;
    this.#forget(idle);
    idle.socket.destroy();
    return true;
  }

  #touch(connection: Connection): void {
    const mine = this.#byClient.get(connection.client);
    if (this.#all.delete(connection.socket)) this.#all.set(connection.socket, connection);
    if (mine?.delete(connection.socket) === true) mine.set(connection.socket, connection);
  }

  #forget(connection: Connection): void {
    this.#all.delete(connection.socket);
    const mine = this.#byClient.get(connection.client);
    mine?.delete(connection.socket);
    if (mine?.size === 0) this.#byClient.delete(connection.client);
  }
}

/** The TCP socket under a request's socket (node:https wraps it in a TLSSocket whose `_parent` it is). */
function rawSocket(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket;
}
