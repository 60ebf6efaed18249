/**
 * AWS service limits the platform relies on, declared once for the Lambda code and the local stand-ins.
 */

/**
 * Largest MQTT PUBLISH payload AWS IoT Core accepts: 128 KB. IoT Core refuses anything larger
 * (CLIENT_ERROR, PAYLOAD_LIMIT_EXCEEDED), so nothing larger reaches the rule, and the local broker
 * refuses it too.
 * https://docs.aws.amazon.com/general/latest/gr/iot-core.html#iot-protocol-limits
 * https://docs.aws.amazon.com/iot/latest/developerguide/topicdata.html
 */
export const IOT_CORE_MAX_PAYLOAD_BYTES = 128 * 1024;

// ----- export (issue 16) --------------------------------------------------------------------------

/**
 * Largest response a synchronously invoked (BUFFERED) Lambda function returns: 6 MB. The HTTP API's
 * Lambda proxy integration invokes it that way: response streaming reaches clients only through a
 * function URL (RESPONSE_STREAM, up to 200 MB) or a REST API integration in STREAM mode, not an HTTP API.
 * https://docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
 */
export const LAMBDA_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024;

/**
 * Largest export file the Lambda API returns: a binary body travels base64-encoded (4 bytes per 3) in
 * the JSON response, with its headers beside it, so 4 MB of file is about 5.3 MB of response, under
 * LAMBDA_SYNC_RESPONSE_BYTES with room for the envelope.
 */
export const LAMBDA_EXPORT_FILE_BYTES = 4 * 1024 * 1024;

// ----- DynamoDB batch operations (issue 16: a replay's rewrite reads the items it replaces) ---------

/**
 * Requests in one BatchWriteItem call (25) and keys in one BatchGetItem call (100); what a call leaves
 * unprocessed comes back in UnprocessedItems / UnprocessedKeys and must be sent again.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
 */
export const DYNAMODB_BATCH_WRITE_REQUESTS = 25;
export const DYNAMODB_BATCH_GET_KEYS = 100;
