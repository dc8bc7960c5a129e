/*
 * librdkafka's mock Kafka cluster as a process, for the @lastcall/resources tests.
 * It is an emulator, not a broker: it speaks the Kafka protocol (produce, fetch,
 * consumer groups, offset commits) in memory; topics are created on first use.
 *
 *   kafka-mock [brokers]   prints the bootstrap servers on one line, then runs until SIGTERM/SIGINT
 *
 * Built by scripts/services.sh: gcc kafka-mock.c $(pkg-config --cflags --libs rdkafka)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  char errstr[512];
  sigset_t wanted, previous;

  /* Block the stop signals before anything starts, so none is missed before sigsuspend. */
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGINT);
  sigprocmask(SIG_BLOCK, &wanted, &previous);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_new failed: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (cluster == NULL) {
    fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  sigset_t waiting = previous;
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);
  sigsuspend(&waiting);

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
