-- CreateTable
CREATE TABLE "task_events" (
    "id" BIGSERIAL NOT NULL,
    "user_id" TEXT NOT NULL,
    "task_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "task" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_event_horizon" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "pruned_through" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "task_event_horizon_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "task_events_user_id_id_idx" ON "task_events"("user_id", "id");

-- CreateIndex
CREATE INDEX "task_events_created_at_idx" ON "task_events"("created_at");

INSERT INTO "task_event_horizon" ("id", "pruned_through") VALUES (1, 0);

-- Every change to a task is logged by the statement-level triggers that keep the user's counters, after
-- they have updated (and so locked) the user's row: a user's events take their ids while that lock is held,
-- until commit, so within one user ids are in commit order and a reader that resumes after an id misses
-- nothing. Each statement then wakes the listeners with pg_notify (delivered on commit), carrying only
-- "<last event id> <user id>". Bodies as E'' strings with \073 for each semicolon (see the task_quota
-- migration).
CREATE OR REPLACE FUNCTION "count_inserted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  logged record\073
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" + c.n, "change_count" = u."change_count" + 1
  FROM (SELECT "user_id", count(*)::int AS n FROM inserted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  FOR logged IN
    WITH e AS (
      INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
      SELECT t."user_id", t."id", ''created'', to_jsonb(t) FROM inserted t ORDER BY t."created_at", t."id"
      RETURNING "user_id", "id"
    )
    SELECT "user_id", max("id") AS last FROM e GROUP BY "user_id"
  LOOP
    PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
  END LOOP\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "count_deleted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  logged record\073
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" - c.n, "change_count" = u."change_count" + 1
  FROM (SELECT "user_id", count(*)::int AS n FROM deleted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  FOR logged IN
    WITH e AS (
      INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
      SELECT t."user_id", t."id", ''deleted'', to_jsonb(t) FROM deleted t ORDER BY t."created_at", t."id"
      RETURNING "user_id", "id"
    )
    SELECT "user_id", max("id") AS last FROM e GROUP BY "user_id"
  LOOP
    PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
  END LOOP\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "count_updated_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  logged record\073
BEGIN
  UPDATE "users" u SET "change_count" = u."change_count" + 1
  WHERE u."id" IN (SELECT "user_id" FROM updated UNION SELECT "user_id" FROM previous)\073
  FOR logged IN
    WITH e AS (
      INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
      SELECT t."user_id", t."id", ''updated'', to_jsonb(t) FROM updated t ORDER BY t."created_at", t."id"
      RETURNING "user_id", "id"
    )
    SELECT "user_id", max("id") AS last FROM e GROUP BY "user_id"
  LOOP
    PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
  END LOOP\073
  RETURN NULL\073
END';
