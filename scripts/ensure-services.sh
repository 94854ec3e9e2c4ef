#!/usr/bin/env bash
# Starts PostgreSQL, Redis and NATS (with JetStream) on loopback when their ports are
# closed, with the commands of the Debian packages on this machine. Services that
# already listen are left alone. Exits non-zero when a service cannot be started.
set -uo pipefail

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 50); do
    if port_open "$port"; then
      return 0
    fi
    sleep 0.2
  done
  echo "ensure-services: $name did not open 127.0.0.1:$port" >&2
  return 1
}

status=0

if ! port_open 5432; then
  echo "ensure-services: starting PostgreSQL" >&2
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  wait_port PostgreSQL 5432 || status=1
fi

if ! port_open 6379; then
  echo "ensure-services: starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port Redis 6379 || status=1
fi

if ! port_open 4222; then
  echo "ensure-services: starting NATS" >&2
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  wait_port NATS 4222 || status=1
fi

exit "$status"
