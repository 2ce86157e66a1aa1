-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'ABORTED');

-- CreateEnum
CREATE TYPE "StageStatus" AS ENUM ('PENDING', 'RUNNING', 'FAILED_WAITING', 'SUCCEEDED', 'SKIPPED', 'ABORTED');

-- CreateEnum
CREATE TYPE "AttemptStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ItemStatus" AS ENUM ('PENDING', 'ACCEPTED', 'FILTERED', 'FAILED');

-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('OK', 'FILTERED', 'FAILED');

-- CreateEnum
CREATE TYPE "VerdictLabel" AS ENUM ('YES', 'NO', 'OPEN', 'OTHER');

-- CreateEnum
CREATE TYPE "RowStatus" AS ENUM ('INCLUDED', 'SKIPPED');

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL,
    "spec" JSONB NOT NULL,
    "specHash" TEXT NOT NULL,
    "specVersion" INTEGER NOT NULL,
    "error" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Stage" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "status" "StageStatus" NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "settings" JSONB,
    "countIn" INTEGER,
    "countOut" INTEGER,
    "countFiltered" INTEGER,
    "countFailed" INTEGER,
    "reasons" JSONB,
    "shardsTotal" INTEGER,
    "shardsDone" INTEGER,
    "outputs" JSONB,
    "error" TEXT,
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Stage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StageAttempt" (
    "id" TEXT NOT NULL,
    "stageId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status" "AttemptStatus" NOT NULL,
    "settings" JSONB,
    "counts" JSONB,
    "error" TEXT,
    "errorType" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StageAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dataset" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "sourcePath" TEXT NOT NULL,
    "imageRoot" TEXT NOT NULL,
    "rowCount" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Item" (
    "id" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "sourceIndex" INTEGER NOT NULL,
    "imagePath" TEXT NOT NULL,
    "resolvedPath" TEXT,
    "instruction" TEXT,
    "caption" TEXT,
    "status" "ItemStatus" NOT NULL,
    "reason" TEXT,
    "imageSha256" TEXT,
    "format" TEXT,
    "width" INTEGER,
    "height" INTEGER,
    "bytes" INTEGER,
    "synId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SynthTask" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "synId" INTEGER NOT NULL,
    "synthesizer" TEXT NOT NULL,
    "synthesizerVersion" TEXT NOT NULL,
    "promptFormat" TEXT NOT NULL,
    "rule" TEXT,
    "rawOutput" TEXT,
    "finishReason" TEXT,
    "question" TEXT,
    "informative" TEXT,
    "precise" TEXT,
    "taskHash" TEXT,
    "status" "TaskStatus" NOT NULL,
    "reason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SynthTask_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Verdict" (
    "id" TEXT NOT NULL,
    "taskId" TEXT NOT NULL,
    "judge" TEXT NOT NULL,
    "judgeVersion" TEXT NOT NULL,
    "label" "VerdictLabel" NOT NULL,
    "raw" TEXT,
    "kept" BOOLEAN NOT NULL,
    "reason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Verdict_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingRow" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "taskId" TEXT,
    "synId" INTEGER NOT NULL,
    "keptId" INTEGER,
    "status" "RowStatus" NOT NULL,
    "reason" TEXT,
    "messages" JSONB,
    "image" TEXT,
    "placement" TEXT,
    "route" TEXT,
    "templateSet" TEXT,
    "basicTemplate" INTEGER,
    "rationaleTemplate" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrainingRow_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Artifact" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "meta" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Artifact_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Run_workflowId_idx" ON "Run"("workflowId");

-- CreateIndex
CREATE INDEX "Run_status_idx" ON "Run"("status");

-- CreateIndex
CREATE INDEX "Run_domain_idx" ON "Run"("domain");

-- CreateIndex
CREATE INDEX "Stage_runId_idx" ON "Stage"("runId");

-- CreateIndex
CREATE INDEX "Stage_status_idx" ON "Stage"("status");

-- CreateIndex
CREATE UNIQUE INDEX "Stage_runId_name_key" ON "Stage"("runId", "name");

-- CreateIndex
CREATE INDEX "StageAttempt_stageId_idx" ON "StageAttempt"("stageId");

-- CreateIndex
CREATE INDEX "StageAttempt_status_idx" ON "StageAttempt"("status");

-- CreateIndex
CREATE UNIQUE INDEX "StageAttempt_stageId_attempt_key" ON "StageAttempt"("stageId", "attempt");

-- CreateIndex
CREATE INDEX "Dataset_runId_idx" ON "Dataset"("runId");

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_runId_name_key" ON "Dataset"("runId", "name");

-- CreateIndex
CREATE INDEX "Item_datasetId_status_idx" ON "Item"("datasetId", "status");

-- CreateIndex
CREATE INDEX "Item_datasetId_synId_idx" ON "Item"("datasetId", "synId");

-- CreateIndex
CREATE INDEX "Item_datasetId_imageSha256_idx" ON "Item"("datasetId", "imageSha256");

-- CreateIndex
CREATE UNIQUE INDEX "Item_datasetId_sourceIndex_key" ON "Item"("datasetId", "sourceIndex");

-- CreateIndex
CREATE INDEX "SynthTask_runId_synId_idx" ON "SynthTask"("runId", "synId");

-- CreateIndex
CREATE INDEX "SynthTask_runId_status_idx" ON "SynthTask"("runId", "status");

-- CreateIndex
CREATE INDEX "SynthTask_runId_taskHash_idx" ON "SynthTask"("runId", "taskHash");

-- CreateIndex
CREATE INDEX "SynthTask_itemId_idx" ON "SynthTask"("itemId");

-- CreateIndex
CREATE UNIQUE INDEX "SynthTask_runId_itemId_key" ON "SynthTask"("runId", "itemId");

-- CreateIndex
CREATE UNIQUE INDEX "Verdict_taskId_key" ON "Verdict"("taskId");

-- CreateIndex
CREATE INDEX "Verdict_kept_idx" ON "Verdict"("kept");

-- CreateIndex
CREATE INDEX "TrainingRow_runId_keptId_idx" ON "TrainingRow"("runId", "keptId");

-- CreateIndex
CREATE INDEX "TrainingRow_runId_status_idx" ON "TrainingRow"("runId", "status");

-- CreateIndex
CREATE INDEX "TrainingRow_itemId_idx" ON "TrainingRow"("itemId");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingRow_runId_itemId_key" ON "TrainingRow"("runId", "itemId");

-- CreateIndex
CREATE INDEX "Artifact_runId_idx" ON "Artifact"("runId");

-- CreateIndex
CREATE UNIQUE INDEX "Artifact_runId_stage_kind_key" ON "Artifact"("runId", "stage", "kind");

-- AddForeignKey
ALTER TABLE "Stage" ADD CONSTRAINT "Stage_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StageAttempt" ADD CONSTRAINT "StageAttempt_stageId_fkey" FOREIGN KEY ("stageId") REFERENCES "Stage"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Dataset" ADD CONSTRAINT "Dataset_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Item" ADD CONSTRAINT "Item_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SynthTask" ADD CONSTRAINT "SynthTask_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SynthTask" ADD CONSTRAINT "SynthTask_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Verdict" ADD CONSTRAINT "Verdict_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "SynthTask"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingRow" ADD CONSTRAINT "TrainingRow_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingRow" ADD CONSTRAINT "TrainingRow_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "Item"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

