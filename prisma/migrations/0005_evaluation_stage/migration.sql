-- AlterTable
ALTER TABLE "Prediction" ADD COLUMN     "runId" TEXT,
ADD COLUMN     "setupHash" TEXT;

-- CreateTable
CREATE TABLE "Evaluation" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "modelId" TEXT NOT NULL,
    "kind" "ModelKind" NOT NULL,
    "task" TEXT NOT NULL,
    "benchmark" TEXT NOT NULL,
    "fileSha256" TEXT NOT NULL,
    "rows" INTEGER NOT NULL,
    "setupHash" TEXT NOT NULL,
    "setup" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Evaluation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Evaluation_modelId_task_setupHash_idx" ON "Evaluation"("modelId", "task", "setupHash");

-- CreateIndex
CREATE UNIQUE INDEX "Evaluation_runId_position_key" ON "Evaluation"("runId", "position");

-- CreateIndex
CREATE INDEX "Prediction_modelId_task_setupHash_rowIndex_idx" ON "Prediction"("modelId", "task", "setupHash", "rowIndex");

-- AddForeignKey
ALTER TABLE "Evaluation" ADD CONSTRAINT "Evaluation_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Evaluation" ADD CONSTRAINT "Evaluation_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

