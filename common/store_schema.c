#include "common/store_schema.h"

#include "common/cleanup.h"

const struct store_migration store_migrations[] = {
    {
        .what = "settings table",
        .sql = "CREATE TABLE settings ("
               "  key   TEXT PRIMARY KEY NOT NULL,"
               "  value TEXT NOT NULL"
               ") STRICT;",
    },
    {
        /* Images by config digest; names are tags ("repo:tag") and repo digests
         * ("repo@digest"); layers by chain ID, shared between images. */
        .what = "image tables",
        .sql = "CREATE TABLE images ("
               "  id              TEXT PRIMARY KEY NOT NULL,"
               "  manifest_digest TEXT NOT NULL,"
               "  size            INTEGER NOT NULL,"
               "  pulled_ns       INTEGER NOT NULL,"
               "  pinned          INTEGER NOT NULL DEFAULT 0,"
               "  user            TEXT"
               ") STRICT;"
               "CREATE TABLE image_names ("
               "  name     TEXT PRIMARY KEY NOT NULL,"
               "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
               "  is_digest INTEGER NOT NULL"
               ") STRICT;"
               "CREATE INDEX image_names_by_image ON image_names(image_id);"
               "CREATE TABLE layers ("
               "  chain_id TEXT PRIMARY KEY NOT NULL,"
               "  diff_id  TEXT NOT NULL,"
               "  parent   TEXT,"
               "  size     INTEGER NOT NULL,"
               "  inodes   INTEGER NOT NULL"
               ") STRICT;"
               "CREATE TABLE image_layers ("
               "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
               "  idx      INTEGER NOT NULL,"
               "  chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
               "  PRIMARY KEY (image_id, idx)"
               ") STRICT;"
               "CREATE INDEX image_layers_by_layer ON image_layers(chain_id);",
    },
    {
        /* Pod sandboxes; their metadata is unique (the kubelet's name reservation). */
        .what = "pod table",
        .sql = "CREATE TABLE pods ("
               "  id              TEXT PRIMARY KEY NOT NULL,"
               "  name            TEXT NOT NULL,"
               "  namespace       TEXT NOT NULL,"
               "  uid             TEXT NOT NULL,"
               "  attempt         INTEGER NOT NULL,"
               "  state           INTEGER NOT NULL,"
               "  created_ns      INTEGER NOT NULL,"
               "  hostname        TEXT NOT NULL,"
               "  log_directory   TEXT NOT NULL,"
               "  runtime_handler TEXT NOT NULL,"
               "  net_mode        INTEGER NOT NULL,"
               "  pid_mode        INTEGER NOT NULL,"
               "  ipc_mode        INTEGER NOT NULL,"
               "  cgroup_parent   TEXT NOT NULL,"
               "  labels          TEXT NOT NULL,"
               "  annotations     TEXT NOT NULL,"
               "  ip              TEXT NOT NULL DEFAULT '',"
               "  UNIQUE (name, namespace, uid, attempt)"
               ") STRICT;",
    },
    {
        /* Containers: what changes with the lifecycle in columns, the rest of
         * what the CRI reports (labels, mounts, image, user) in one JSON doc. */
        .what = "container table",
        .sql = "CREATE TABLE containers ("
               "  id          TEXT PRIMARY KEY NOT NULL,"
               "  pod_id      TEXT NOT NULL,"
               "  name        TEXT NOT NULL,"
               "  attempt     INTEGER NOT NULL,"
               "  state       INTEGER NOT NULL,"
               "  created_ns  INTEGER NOT NULL,"
               "  started_ns  INTEGER NOT NULL DEFAULT 0,"
               "  finished_ns INTEGER NOT NULL DEFAULT 0,"
               "  exit_code   INTEGER NOT NULL DEFAULT 0,"
               "  reason      TEXT NOT NULL DEFAULT '',"
               "  message     TEXT NOT NULL DEFAULT '',"
               "  pid         INTEGER NOT NULL,"
               "  start_ticks INTEGER NOT NULL,"
               "  doc         TEXT NOT NULL,"
               "  UNIQUE (pod_id, name, attempt)"
               ") STRICT;"
               "CREATE INDEX containers_by_pod ON containers(pod_id);",
    },
    {
        /* A pod's user namespace: "" (the node's) or its uid and gid ranges. */
        .what = "pod user namespaces",
        .sql = "ALTER TABLE pods ADD COLUMN userns TEXT NOT NULL DEFAULT '';",
    },
    {
        /* A pod's overhead and resources as the kubelet states them (JSON). */
        .what = "pod resources",
        .sql = "ALTER TABLE pods ADD COLUMN resources TEXT NOT NULL DEFAULT '';",
    },
};

const size_t store_n_migrations = ARRAY_SIZE(store_migrations);
