"""The emulator's SQLite tables, and which of them an admin reset empties."""

from __future__ import annotations

SCHEMA_VERSION = "1"


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, parent_id TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS groups_order ON groups (created_at, id);
CREATE TABLE IF NOT EXISTS config_types (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS config_schemas (
  id TEXT PRIMARY KEY, config_type_id TEXT NOT NULL, digest TEXT NOT NULL,
  language TEXT NOT NULL, format TEXT NOT NULL, instance_format TEXT NOT NULL,
  slots TEXT NOT NULL, documents TEXT NOT NULL, label TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS config_schemas_digest ON config_schemas (config_type_id, digest);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, version TEXT NOT NULL UNIQUE, git_commit_id TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS release_schemas (
  release_id TEXT NOT NULL, config_schema_id TEXT NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (release_id, config_schema_id));
CREATE TABLE IF NOT EXISTS config_instances (
  id TEXT PRIMARY KEY, config_schema_id TEXT NOT NULL, config_type_id TEXT NOT NULL,
  slot_key TEXT NOT NULL, filepath TEXT NOT NULL, format TEXT NOT NULL, data TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS config_instances_order ON config_instances (created_at, id);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
  status TEXT NOT NULL, agent_version TEXT, group_id TEXT,
  last_connected_at REAL, last_disconnected_at REAL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL,
  target_deployment_id TEXT, live_deployment_id TEXT, current_release_id TEXT,
  behaviour TEXT NOT NULL DEFAULT 'ok', delay REAL NOT NULL DEFAULT 1.0);
CREATE INDEX IF NOT EXISTS devices_order ON devices (created_at, id);
CREATE INDEX IF NOT EXISTS devices_status ON devices (status, id);
CREATE INDEX IF NOT EXISTS devices_group ON devices (group_id);
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL, release_id TEXT NOT NULL,
  description TEXT NOT NULL, parent_id TEXT,
  target_status TEXT NOT NULL, activity_status TEXT NOT NULL, error_status TEXT NOT NULL,
  queued_at REAL, deployed_at REAL, archived_at REAL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL,
  next_at REAL, replaced_id TEXT);
CREATE INDEX IF NOT EXISTS deployments_order ON deployments (created_at, id);
CREATE INDEX IF NOT EXISTS deployments_device ON deployments (device_id);
CREATE INDEX IF NOT EXISTS deployments_due ON deployments (next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deployment_instances (
  deployment_id TEXT NOT NULL, config_instance_id TEXT NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (deployment_id, config_instance_id));
CREATE TABLE IF NOT EXISTS git_commits (
  id TEXT PRIMARY KEY, sha TEXT NOT NULL, message TEXT NOT NULL,
  repository_owner TEXT NOT NULL, repository_name TEXT NOT NULL, repository_type TEXT NOT NULL,
  repository_url TEXT NOT NULL, commit_url TEXT NOT NULL, created_at REAL NOT NULL);
-- Device events in the platform's event envelope, ids increasing (served under /_emulator).
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, type TEXT NOT NULL,
  occurred_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, id);
-- Enrollment history (the enrollment service's records), loaded from seeds, served under /v2.
CREATE TABLE IF NOT EXISTS enrollments (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL, status TEXT NOT NULL,
  enrollment_date TEXT NOT NULL, enrollment_token_id TEXT, user_id TEXT, error_logs TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS enrollments_device ON enrollments (device_id);
"""


# Tables emptied by an admin reset (meta keeps the clock mode).
DATA_TABLES = (
    "groups",
    "config_types",
    "config_schemas",
    "releases",
    "release_schemas",
    "config_instances",
    "devices",
    "deployments",
    "deployment_instances",
    "git_commits",
    "events",
    "enrollments",
)
