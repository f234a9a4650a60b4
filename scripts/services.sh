#!/usr/bin/env bash
# Makes sure the services the tests need are up: Redis on 127.0.0.1:6379 and
# PostgreSQL on 127.0.0.1:5432 with a database named "test". It starts only
# what is down, with the commands this machine kind documents, and fails
# loudly when a service cannot be had.
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! redis_up; then
  echo "services: starting Redis on 127.0.0.1:6379"
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "services: Redis did not come up" >&2; exit 1; }
fi

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 100); do pg_up && break; sleep 0.1; done
  pg_up || { echo "services: PostgreSQL did not come up" >&2; exit 1; }
fi
# The tests use database "test"; create it if this machine lacks it.
for u in postgres root; do
  if psql -h 127.0.0.1 -U "$u" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U "$u" -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 ||
      psql -h 127.0.0.1 -U "$u" -d postgres -qc 'create database test'
    break
  fi
done
echo "services: Redis and PostgreSQL are up"
