-- DropIndex
DROP INDEX "task_events_created_at_idx";

-- DropIndex
DROP INDEX "task_events_user_id_id_idx";

-- AlterTable
ALTER TABLE "task_events" DROP CONSTRAINT "task_events_pkey",
ADD CONSTRAINT "task_events_pkey" PRIMARY KEY ("user_id", "id");

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "watched_until" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "task_event_streams" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "task_event_streams_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "task_event_streams_user_id_idx" ON "task_event_streams"("user_id");

-- CreateIndex
CREATE INDEX "task_event_streams_expires_at_idx" ON "task_event_streams"("expires_at");

-- CreateIndex
CREATE INDEX "task_events_created_at_idx" ON "task_events" USING BRIN ("created_at");

-- Wake-ups only for users someone watches. pg_notify serialises the commits of every notifying
-- transaction in the database (it takes the notification queue's lock at commit): sent by every write, it
-- cut write throughput by 55-65 % at 10 writers. Now a write notifies only when its user's watched_until
-- (set by the instances that hold a stream of that user open, kept alive while it is) is in the future:
-- the triggers read it from the row they already update, and log an unwatched write with a plain INSERT
-- (the INSERT ... RETURNING in a CTE, grouped for the notifications, costs a third more). The rows of one
-- statement are logged in the order the statement produced them (they commit together: their order
-- among themselves means nothing), which saves a sort, and the log keeps one B-tree where it had three
-- (see the indexes above).
--
-- No wake-up can be lost to the gate: a stream is opened by open_task_event_stream, which writes the
-- user's watched_until (locking the row) before the stream reads the log. A write whose trigger took the
-- user's row before that has committed before the stream reads, so the read sees its events, and a write that
-- takes the row after it sees watched_until (an UPDATE that waited reads the newest row) and notifies.
-- Bodies as E'' strings with \073 for each semicolon (see the task_quota migration).
CREATE OR REPLACE FUNCTION "count_inserted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  watched text[]\073
  logged record\073
BEGIN
  WITH c AS (
    UPDATE "users" u SET "task_count" = u."task_count" + c.n, "change_count" = u."change_count" + 1
    FROM (SELECT "user_id", count(*)::int AS n FROM inserted GROUP BY "user_id") c
    WHERE u."id" = c."user_id"
    RETURNING u."id", u."watched_until"
  )
  SELECT array_agg(c."id") FILTER (WHERE c."watched_until" > now()) INTO watched FROM c\073
  IF watched IS NULL THEN
    INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
    SELECT t."user_id", t."id", ''created'', to_jsonb(t) FROM inserted t\073
  ELSE
    FOR logged IN
      WITH e AS (
        INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
        SELECT t."user_id", t."id", ''created'', to_jsonb(t) FROM inserted t
        RETURNING "user_id", "id"
      )
      SELECT "user_id", max("id") AS last FROM e WHERE "user_id" = ANY(watched) GROUP BY "user_id"
    LOOP
      PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
    END LOOP\073
  END IF\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "count_deleted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  watched text[]\073
  logged record\073
BEGIN
  WITH c AS (
    UPDATE "users" u SET "task_count" = u."task_count" - c.n, "change_count" = u."change_count" + 1
    FROM (SELECT "user_id", count(*)::int AS n FROM deleted GROUP BY "user_id") c
    WHERE u."id" = c."user_id"
    RETURNING u."id", u."watched_until"
  )
  SELECT array_agg(c."id") FILTER (WHERE c."watched_until" > now()) INTO watched FROM c\073
  IF watched IS NULL THEN
    INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
    SELECT t."user_id", t."id", ''deleted'', to_jsonb(t) FROM deleted t\073
  ELSE
    FOR logged IN
      WITH e AS (
        INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
        SELECT t."user_id", t."id", ''deleted'', to_jsonb(t) FROM deleted t
        RETURNING "user_id", "id"
      )
      SELECT "user_id", max("id") AS last FROM e WHERE "user_id" = ANY(watched) GROUP BY "user_id"
    LOOP
      PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
    END LOOP\073
  END IF\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "count_updated_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
DECLARE
  watched text[]\073
  logged record\073
BEGIN
  WITH c AS (
    UPDATE "users" u SET "change_count" = u."change_count" + 1
    WHERE u."id" IN (SELECT "user_id" FROM updated UNION SELECT "user_id" FROM previous)
    RETURNING u."id", u."watched_until"
  )
  SELECT array_agg(c."id") FILTER (WHERE c."watched_until" > now()) INTO watched FROM c\073
  IF watched IS NULL THEN
    INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
    SELECT t."user_id", t."id", ''updated'', to_jsonb(t) FROM updated t\073
  ELSE
    FOR logged IN
      WITH e AS (
        INSERT INTO "task_events" ("user_id", "task_id", "kind", "task")
        SELECT t."user_id", t."id", ''updated'', to_jsonb(t) FROM updated t
        RETURNING "user_id", "id"
      )
      SELECT "user_id", max("id") AS last FROM e WHERE "user_id" = ANY(watched) GROUP BY "user_id"
    LOOP
      PERFORM pg_notify(''task_events'', logged.last || '' '' || logged."user_id")\073
    END LOOP\073
  END IF\073
  RETURN NULL\073
END';

-- A stream opens: the stream takes one of the user's p_max places across all instances, unless they are
-- all taken (false), for p_ttl_ms from now (its instance renews it while the stream lives). Places whose
-- instance stopped renewing them have lapsed and are freed here. With p_watch (the instance is woken by
-- notifications, not by polling) the user is watched as long: their writes notify. The user's row is
-- written (and so locked) first, which orders this against every write of theirs (see above).
CREATE FUNCTION "open_task_event_stream"(p_user text, p_stream uuid, p_max integer, p_ttl_ms integer, p_watch boolean) RETURNS boolean LANGUAGE plpgsql AS E'
DECLARE
  until timestamptz := clock_timestamp() + p_ttl_ms * interval ''1 millisecond''\073
BEGIN
  INSERT INTO "users" ("id", "watched_until") VALUES (p_user, CASE WHEN p_watch THEN until END)
  ON CONFLICT ("id") DO UPDATE SET "watched_until" = GREATEST("users"."watched_until", EXCLUDED."watched_until")\073
  DELETE FROM "task_event_streams" WHERE "user_id" = p_user AND "expires_at" < clock_timestamp()\073
  IF (SELECT count(*) FROM "task_event_streams" WHERE "user_id" = p_user) >= p_max THEN
    RETURN false\073
  END IF\073
  INSERT INTO "task_event_streams" ("id", "user_id", "expires_at") VALUES (p_stream, p_user, until)\073
  RETURN true\073
END';

-- An instance renews its open streams (the same stream ids, with their users: a place freed meanwhile is
-- taken again) and, with p_watch, their users' watch, locking the users in one order so that two
-- instances renewing the same users cannot deadlock, and frees the places of instances that stopped
-- renewing theirs.
CREATE FUNCTION "renew_task_event_streams"(p_streams uuid[], p_users text[], p_ttl_ms integer, p_watch boolean) RETURNS void LANGUAGE plpgsql AS E'
DECLARE
  until timestamptz := clock_timestamp() + p_ttl_ms * interval ''1 millisecond''\073
BEGIN
  IF p_watch THEN
    UPDATE "users" SET "watched_until" = GREATEST("watched_until", until)
    WHERE "id" IN (SELECT "id" FROM "users" WHERE "id" = ANY(p_users) ORDER BY "id" FOR NO KEY UPDATE)\073
  END IF\073
  INSERT INTO "task_event_streams" ("id", "user_id", "expires_at")
  SELECT s.id, s.user_id, until FROM unnest(p_streams, p_users) AS s(id, user_id) JOIN "users" u ON u."id" = s.user_id
  ON CONFLICT ("id") DO UPDATE SET "expires_at" = EXCLUDED."expires_at"\073
  DELETE FROM "task_event_streams" WHERE "expires_at" < clock_timestamp()\073
END';
