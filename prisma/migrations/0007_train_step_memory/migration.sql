-- AlterTable
ALTER TABLE "TrainStep" ADD COLUMN     "paddingWaste" DOUBLE PRECISION,
ADD COLUMN     "peakMemoryBytes" BIGINT,
ADD COLUMN     "worldSize" INTEGER;

