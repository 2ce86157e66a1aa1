// Run by trainer-launch.test.ts as a worker stand-in: starts the (fake) trainer through
// runTrainer (the interpreter: argv[2]) and says so on stdout, so the test can SIGKILL this
// process mid-training.
import { runTrainer } from '../../activities/train/trainer-process';

let said = false;
void runTrainer(['train', '--config', 'unused.json'], {
  python: process.argv[2],
  onEvent: (e) => {
    if (e.event === 'step' && !said) {
      said = true;
      process.stdout.write('training\n');
    }
  },
});
