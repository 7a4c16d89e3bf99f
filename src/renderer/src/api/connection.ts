import { connectApi, type Connection } from './connectApi.ts';

/** The one connection of this window to the engine. */
export const connection: Connection = connectApi();
export const api = connection.client;
