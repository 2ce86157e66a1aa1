-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "stageAttemptId" TEXT,
ADD COLUMN     "trainingSetId" TEXT;

-- CreateTable
CREATE TABLE "TrainStep" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "totalSteps" INTEGER NOT NULL,
    "epoch" DOUBLE PRECISION NOT NULL,
    "loss" DOUBLE PRECISION NOT NULL,
    "lr" DOUBLE PRECISION NOT NULL,
    "gradNorm" DOUBLE PRECISION,
    "tokens" INTEGER NOT NULL,
    "labelTokens" INTEGER NOT NULL,
    "tokensPerS" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrainStep_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TrainStep_runId_idx" ON "TrainStep"("runId");

-- CreateIndex
CREATE UNIQUE INDEX "TrainStep_runId_step_key" ON "TrainStep"("runId", "step");

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_trainingSetId_fkey" FOREIGN KEY ("trainingSetId") REFERENCES "Artifact"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_stageAttemptId_fkey" FOREIGN KEY ("stageAttemptId") REFERENCES "StageAttempt"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainStep" ADD CONSTRAINT "TrainStep_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

