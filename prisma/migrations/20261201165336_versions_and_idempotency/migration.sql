-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "change_count" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "user_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "headers" JSONB NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("user_id","key")
);

-- CreateIndex
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys"("created_at");

-- A task's version moves with every update, whoever makes it (an older instance during a rolling deploy,
-- a hand-written UPDATE): an If-Match on the version read can never pass over a change it did not see.
CREATE FUNCTION "bump_task_version"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  NEW."version" := OLD."version" + 1\073
  RETURN NEW\073
END';

CREATE TRIGGER "tasks_bump_version" BEFORE UPDATE ON "tasks" FOR EACH ROW EXECUTE FUNCTION "bump_task_version"();

-- Each user's change counter: one more for every statement that creates, changes or deletes any of their
-- tasks, so a list's ETag is one primary-key read, whatever the list's length. Kept by the same
-- statement-level triggers as task_count (bodies as E'' strings with \073 for each semicolon: see the
-- task_quota migration), plus one for updates.
CREATE OR REPLACE FUNCTION "count_inserted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" + c.n, "change_count" = u."change_count" + 1
  FROM (SELECT "user_id", count(*)::int AS n FROM inserted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "count_deleted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" - c.n, "change_count" = u."change_count" + 1
  FROM (SELECT "user_id", count(*)::int AS n FROM deleted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  RETURN NULL\073
END';

CREATE FUNCTION "count_updated_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "users" u SET "change_count" = u."change_count" + 1
  WHERE u."id" IN (SELECT "user_id" FROM updated UNION SELECT "user_id" FROM previous)\073
  RETURN NULL\073
END';

CREATE TRIGGER "tasks_count_updated" AFTER UPDATE ON "tasks"
  REFERENCING OLD TABLE AS previous NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION "count_updated_tasks"();
