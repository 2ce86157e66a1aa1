-- CreateEnum
CREATE TYPE "ModelKind" AS ENUM ('BASE', 'ADAPTED');

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ModelKind" NOT NULL,
    "family" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "revision" TEXT NOT NULL,
    "parentId" TEXT,
    "runId" TEXT,
    "meta" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "rowIndex" INTEGER NOT NULL,
    "promptHash" TEXT NOT NULL,
    "output" TEXT,
    "score" DOUBLE PRECISION,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Prediction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Metric" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" DOUBLE PRECISION,
    "testNum" INTEGER NOT NULL,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Metric_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Model_parentId_idx" ON "Model"("parentId");

-- CreateIndex
CREATE INDEX "Model_runId_idx" ON "Model"("runId");

-- CreateIndex
CREATE INDEX "Model_kind_idx" ON "Model"("kind");

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_revision_key" ON "Model"("name", "revision");

-- CreateIndex
CREATE INDEX "Prediction_modelId_idx" ON "Prediction"("modelId");

-- CreateIndex
CREATE INDEX "Prediction_task_idx" ON "Prediction"("task");

-- CreateIndex
CREATE UNIQUE INDEX "Prediction_modelId_task_rowIndex_promptHash_key" ON "Prediction"("modelId", "task", "rowIndex", "promptHash");

-- CreateIndex
CREATE INDEX "Metric_runId_idx" ON "Metric"("runId");

-- CreateIndex
CREATE INDEX "Metric_modelId_idx" ON "Metric"("modelId");

-- CreateIndex
CREATE UNIQUE INDEX "Metric_runId_modelId_task_key_key" ON "Metric"("runId", "modelId", "task", "key");

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Model"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Prediction" ADD CONSTRAINT "Prediction_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metric" ADD CONSTRAINT "Metric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metric" ADD CONSTRAINT "Metric_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

