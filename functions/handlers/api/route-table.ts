/**
 * What the route modules of this folder share: a route handler, the key that ties it to its
 * declaration in functions/shared/api-routes.ts, and the API Gateway event behind a request.
 */
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ApiRoute } from '../../shared/api-routes.js';

export type Handler = (reqCtx: RequestContext) => Promise<Response>;
export type RouteKey = `${ApiRoute['method']} ${string}`;
/** A part of the route table: handlers keyed as API_ROUTES declares their routes. */
export type RouteTable = Record<RouteKey, Handler>;

export const keyOf = (route: ApiRoute): RouteKey => `${route.method} ${route.path}`;

/** The API Gateway v2 event behind a request (the router is only ever given those here). */
export const eventOf = (reqCtx: RequestContext) => reqCtx.event as APIGatewayProxyEventV2;
