/* test_mqtt_id.c — client ids derived for the broker-auth rule (sub, or sub:suffix) and MQTT URL parsing. */
#include "mqtt.h"
#include "unit.h"

TEST(client_id_for)
{
    char id[128];
    mqtt_client_id_for("ingest-prod", NULL, id, sizeof id);
    CHECK_STR(id, "ingest-prod");
    mqtt_client_id_for("ingest-prod", "ingest-prod", id, sizeof id);
    CHECK_STR(id, "ingest-prod");
    mqtt_client_id_for("ingest-prod", "worker2", id, sizeof id);
    CHECK_STR(id, "ingest-prod:worker2");
    mqtt_client_id_for("ingest-prod", "ingest-prod:worker2", id, sizeof id);
    CHECK_STR(id, "ingest-prod:worker2");
    mqtt_client_id_for("m1", "m12", id, sizeof id);
    CHECK_STR(id, "m1:m12");
    mqtt_client_id_for(NULL, "anything", id, sizeof id);
    CHECK_STR(id, "anything");
}

TEST(urls)
{
    char host[64];
    int port;
    bool tls;
    CHECK_INT(mqtt_url_parse("mqtt://broker.example", host, sizeof host, &port, &tls), 0);
    CHECK_STR(host, "broker.example");
    CHECK_INT(port, 1883);
    CHECK(!tls);
    CHECK_INT(mqtt_url_parse("mqtts://[2001:db8::1]:9883", host, sizeof host, &port, &tls), 0);
    CHECK_STR(host, "2001:db8::1");
    CHECK_INT(port, 9883);
    CHECK(tls);
    CHECK_INT(mqtt_url_parse("mqtts://b", host, sizeof host, &port, &tls), 0);
    CHECK_INT(port, 8883);
    CHECK_INT(mqtt_url_parse("http://b", host, sizeof host, &port, &tls), -1);
    CHECK_INT(mqtt_url_parse("mqtt://b:0", host, sizeof host, &port, &tls), -1);
    CHECK_INT(mqtt_url_parse("mqtt://:1883", host, sizeof host, &port, &tls), -1);
    CHECK_INT(mqtt_url_parse("mqtt://b/path", host, sizeof host, &port, &tls), -1);
}

int main(void)
{
    RUN(client_id_for);
    RUN(urls);
    return unit_done();
}
