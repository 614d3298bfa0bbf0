-- AlterTable
ALTER TABLE "users" ADD COLUMN     "task_count" INTEGER NOT NULL DEFAULT 0;

-- Each user's number of tasks, read by the create statement to enforce MAX_TASKS_PER_USER. Kept by
-- statement-level triggers (one UPDATE per statement and user, however many rows), so no way of adding
-- or removing tasks (a cascade from users, a bulk import) can leave it wrong. The triggers exist before
-- the count is first taken: a write that commits while this runs can at worst be missed (the count one
-- low, the limit one more lenient), never counted twice.

-- The function bodies are E'' strings with \073 for each semicolon: Prisma's driver adapter for pg runs
-- a migration as statements split at every semicolon, quoted or not.
CREATE FUNCTION "count_inserted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" + c.n
  FROM (SELECT "user_id", count(*)::int AS n FROM inserted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  RETURN NULL\073
END';

CREATE FUNCTION "count_deleted_tasks"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  UPDATE "users" u SET "task_count" = u."task_count" - c.n
  FROM (SELECT "user_id", count(*)::int AS n FROM deleted GROUP BY "user_id") c
  WHERE u."id" = c."user_id"\073
  RETURN NULL\073
END';

CREATE TRIGGER "tasks_count_inserted" AFTER INSERT ON "tasks"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "count_inserted_tasks"();

CREATE TRIGGER "tasks_count_deleted" AFTER DELETE ON "tasks"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "count_deleted_tasks"();

UPDATE "users" u SET "task_count" = c.n
FROM (SELECT "user_id", count(*)::int AS n FROM "tasks" GROUP BY "user_id") c
WHERE u."id" = c."user_id";
