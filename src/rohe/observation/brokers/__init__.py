"""Transports over MQTT (aiomqtt), AMQP (aio-pika), core NATS and NATS JetStream (nats-py).

Publishers raise on any failure so the probe's buffer keeps the batch and resends it; subscribers reconnect with
backoff after a broker restart instead of ending. Delivery is at least once: consumers de-duplicate by report_id.

The durable subscribers (MQTT with a persistent session, AMQP, JetStream) defer their acks to the consumer
(`Transport.defers_acks`), so a message is acknowledged only once its reports are safe; see docs/faults.md for
which transport survives which crash.
"""

from rohe.observation.brokers.amqp import AmqpTransport
from rohe.observation.brokers.mqtt import MqttTransport
from rohe.observation.brokers.nats import JetStreamTransport, NatsTransport

__all__ = ["AmqpTransport", "JetStreamTransport", "MqttTransport", "NatsTransport"]
