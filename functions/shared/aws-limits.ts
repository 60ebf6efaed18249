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
