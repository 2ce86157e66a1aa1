// Run by trainer-launch.test.ts as a worker stand-in: starts the (fake) trainer through
// runTrainer (the interpreter: argv[2]; argv[3], when given: orphanDeadlineS) and says so on
// stdout, so the test can SIGKILL this process mid-training.
import { runTrainer } from '../../activities/trainer/trainer-process';

let said = false;
void runTrainer(['train', '--config', 'unused.json'], {
  python: process.argv[2],
  orphanDeadlineS: process.argv[3] ? Number(process.argv[3]) : undefined,
  onEvent: (e) => {
    if (e.event === 'step' && !said) {
      said = true;
      process.stdout.write('training\n');
    }
  },
});
