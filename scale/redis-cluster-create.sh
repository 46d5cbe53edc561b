#!/bin/sh
# One-shot job of the `scale` profile: joins the three Redis nodes into a cluster of three
# masters (no replicas) unless they already form one.
set -eu
nodes=""
for host in redis-node-1 redis-node-2 redis-node-3; do
  until redis-cli -h "$host" ping >/dev/null 2>&1; do sleep 1; done
  nodes="$nodes $(getent hosts "$host" | awk '{print $1}'):6379"
done
if redis-cli -h redis-node-1 cluster info | grep -q '^cluster_state:ok'; then
  echo "the Redis Cluster is already made"
  exit 0
fi
# shellcheck disable=SC2086
redis-cli --cluster create $nodes --cluster-replicas 0 --cluster-yes
