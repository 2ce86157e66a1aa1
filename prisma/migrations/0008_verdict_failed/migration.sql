-- AlterTable
ALTER TABLE "Verdict" ADD COLUMN     "failed" BOOLEAN NOT NULL DEFAULT false;
