-- AlterTable
ALTER TABLE "SynthTask" ADD COLUMN     "cached" BOOLEAN,
ADD COLUMN     "completionTokens" INTEGER,
ADD COLUMN     "modelMs" DOUBLE PRECISION,
ADD COLUMN     "promptTokens" INTEGER;

-- AlterTable
ALTER TABLE "Verdict" ADD COLUMN     "cached" BOOLEAN,
ADD COLUMN     "completionTokens" INTEGER,
ADD COLUMN     "modelMs" DOUBLE PRECISION,
ADD COLUMN     "promptTokens" INTEGER;

