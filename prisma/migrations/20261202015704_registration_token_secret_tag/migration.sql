-- AlterTable
ALTER TABLE "RegistrationToken" ADD COLUMN     "secretTag" TEXT;
